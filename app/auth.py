"""Who a write comes from: the request's `Authorization: Bearer` key, checked against
the stored keys, and the role each operation needs, as typed dependencies
(`KeyHolderDep` for any valid key, `ReviewerDep` for a reviewer's)."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.database import read_in_thread
from app.dependencies import ResourcesDep, SessionDep
from app.errors import Forbidden, Unauthorized
from app.keys import KeyHolder, key_holder
from app.vocabulary import KeyRole

# Declares the scheme in the OpenAPI document; the checking is ours (a missing key and
# a malformed one answer differently, each with its `WWW-Authenticate`).
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="A curation key, as `catalogue keys create` prints it: `eck_...`.",
)


async def current_key_holder(
    request: Request,
    resources: ResourcesDep,
    session: SessionDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> KeyHolder:
    header = request.headers.get("authorization")
    if header is None:
        raise Unauthorized(
            "This needs an API key: send `Authorization: Bearer <key>`.", key_sent=False
        )
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        # Not a bearer credential at all: RFC 6750 3.1 gives no error code for that.
        raise Unauthorized("Send the key as `Authorization: Bearer <key>`.", key_sent=False)
    if not token.strip():
        raise Unauthorized("Send the key as `Authorization: Bearer <key>`.", key_sent=True)

    # In a worker thread: a key's first check runs scrypt, on purpose slow.
    return await read_in_thread(
        session, key_holder, token=token.strip(), verified=resources.verified_keys
    )


KeyHolderDep = Annotated[KeyHolder, Depends(current_key_holder)]


async def current_reviewer(holder: KeyHolderDep) -> KeyHolder:
    if holder.role != KeyRole.reviewer:
        raise Forbidden(f"This needs a reviewer's key; '{holder.name}' is a {holder.role}.")
    return holder


ReviewerDep = Annotated[KeyHolder, Depends(current_reviewer)]
