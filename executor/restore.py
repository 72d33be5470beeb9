"""What the server makes of a restored worker: whether its "ready" is its own, and what the
result of the execute behind a restore says about it (a message a model can act on)."""
from __future__ import annotations

from executor.errors import WorkerStartError
from executor.untrusted import short_text
from executor.worker_handle import WorkerHandle

__all__ = ["own_ready", "restore_text", "CheckpointRejected"]


class CheckpointRejected(WorkerStartError):
    """A restoring worker the zygote did start died, stalled or forged its ready before it was
    ready: its checkpoint is to blame (if the zygote stayed the same), not the service."""


def restore_text(note: dict) -> str:
    """What a result's message says about the restore behind it."""
    if note["state_lost"]:
        return ("The session's checkpoint could not be loaded (" + short_text(note["restore_error"]) +
                "), so it restarted with an empty namespace: every variable, function and import is lost.")
    if note.get("unsaved"):
        # e.g. a checkpoint larger than the session's file_size_bytes: each result said so.
        return (f"The session was restored to its last checkpoint, from before the last {note['unsaved']} "
                "execute(s): their state could not be checkpointed (their results' checkpoint_error says why), "
                "so names they defined or changed are lost or back to older values."
                + (f" These names could not be restored either: {short_text(', '.join(note['lost_names']), 2000)}."
                   if note["lost_names"] else ""))
    if note["lost_names"]:
        return ("The session was restored to its state after the last completed execute; these names "
                f"could not be restored: {short_text(', '.join(note['lost_names']), 2000)}.")
    return "The session was restored to its state after the last completed execute."


def own_ready(ready: dict, worker: WorkerHandle) -> dict:
    """A ready naming any process but the one the zygote forked is forged: the worker ran code
    before it was ready (a hostile checkpoint), so it is treated as one that failed to start."""
    if ready.get("op") == "ready" and ready["pid"] != worker.pid:
        return {"op": "fatal", "error": f"the worker's ready named pid {ready['pid']}, not its own"}
    return ready
