"""An awakeable round trip: a handler hands an id to the outside world and waits for it.

``Signups.signup`` creates an awakeable and "e-mails" its id (parks it in the user's
``Mailbox``), then waits without holding any resources. The user confirms through a handler
(``Mailbox/<email>/confirm``, which resolves the awakeable with ``ctx.resolve_awakeable``) or
any external system completes it over HTTP::

    curl localhost:8080/restate/awakeables/<id>/resolve --json '"1234"'
    curl localhost:8080/restate/awakeables/<id>/reject -H 'content-type: text/plain' -d 'not me'

Try it (served with ``python -m perdure serve examples.awakeable:app --port 9080``)::

    curl localhost:8080/Signups/signup/send --json '"ada@example.com"'
    curl localhost:8080/Mailbox/ada@example.com/confirm --json '"1234"'
    curl localhost:8080/restate/invocation/<invocation id>/attach
    # "ada@example.com confirmed with code 1234"
"""

from __future__ import annotations

import perdure as restate

signups = restate.Service("Signups")
mailbox = restate.VirtualObject("Mailbox")


@signups.handler()
async def signup(ctx: restate.Context, email: str) -> str:
    confirmation_id, confirmation = ctx.awakeable(type_hint=str)
    ctx.object_send(deliver, key=email, arg=confirmation_id)
    try:
        code = await confirmation
    except restate.TerminalError as e:
        return f"{email} declined: {e.message}"
    return f"{email} confirmed with code {code}"


@mailbox.handler()
async def deliver(ctx: restate.ObjectContext, confirmation_id: str) -> None:
    """The confirmation e-mail arrives in the user's mailbox."""
    ctx.set("confirmation", confirmation_id)


@mailbox.handler(kind="shared")
async def pending(ctx: restate.ObjectSharedContext) -> str | None:
    """The id of the confirmation waiting for this user, if any."""
    return await ctx.get("confirmation", type_hint=str)


@mailbox.handler()
async def confirm(ctx: restate.ObjectContext, code: str) -> None:
    """The user clicks the link: resolve the awakeable from a handler."""
    confirmation_id = await ctx.get("confirmation", type_hint=str)
    if confirmation_id is None:
        raise restate.TerminalError("nothing to confirm", status_code=404)
    ctx.resolve_awakeable(confirmation_id, code)
    ctx.clear("confirmation")


@mailbox.handler()
async def decline(ctx: restate.ObjectContext, reason: str) -> None:
    """The user says it was not them: reject the awakeable."""
    confirmation_id = await ctx.get("confirmation", type_hint=str)
    if confirmation_id is None:
        raise restate.TerminalError("nothing to decline", status_code=404)
    ctx.reject_awakeable(confirmation_id, reason, failure_code=403)
    ctx.clear("confirmation")


app = restate.app(services=[signups, mailbox])
