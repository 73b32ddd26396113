# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way a module of the collection runs, and the one adapter to Ansible's module object.

``run_module`` builds the AnsibleModule, fails politely when an optional library is
missing, calls the module's reconcile function, catches :class:`EdgeAIError` once, and
closes every client the reconcile function opened, on success and on failure. A failed
task keeps its documented result keys; the error's details go under ``error`` with
the error's class as ``type``, so a detail never replaces a documented result.

Runs on the managed host: Python 3.8 and later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from typing import Any, TypeVar

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.edgeai.inference.plugins.module_utils.errors import EdgeAIError

# The result key of a failed task that holds the error's class and details.
ERROR_KEY = "error"

Client = TypeVar("Client")


class Requirement:
    """An optional library a module imports: its name for pip, why it did not import, when it is needed."""

    def __init__(
        self,
        library: str,
        import_error: str | None,
        needed: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        self.library = library
        self.import_error = import_error
        self.needed = needed

    def missing(self, params: dict[str, Any]) -> bool:
        """Whether the task needs the library (with these parameters) and it did not import."""
        return self.import_error is not None and (self.needed is None or self.needed(params))


class ModuleRun:
    """What a reconcile function works with: the module, its parameters, the result it fills, its clients."""

    def __init__(self, module: AnsibleModule, result: dict[str, Any]) -> None:
        self.module = module
        self.params: dict[str, Any] = module.params
        self.result = result
        self.clients = ExitStack()

    @property
    def check_mode(self) -> bool:
        return bool(self.module.check_mode)

    @property
    def diff_mode(self) -> bool:
        return bool(self.module._diff)  # pylint: disable=protected-access

    def closing(self, client: Client) -> Client:
        """Close ``client`` (its ``close()``) when the task ends, whether it succeeds or fails."""
        self.clients.callback(client.close)  # type: ignore[attr-defined]
        return client

    def apply(self, changes: Sequence[Callable[[], Any]]) -> bool:
        """Make the changes the comparison planned, in order, and none in check mode; whether any was made.

        ``changed`` is whether there are changes (the check-mode prediction); on a failure half-way
        it says whether one before the failure was made.
        """
        self.result["changed"] = bool(changes)
        if self.check_mode or not changes:
            return False
        self.result["changed"] = False
        for change in changes:
            change()
            self.result["changed"] = True
        return True

    def set_diff(self, before: Any, after: Any, **headers: str) -> None:
        """Report ``before`` and ``after`` when the task runs with --diff."""
        if self.diff_mode:
            self.result["diff"] = {"before": before, "after": after, **headers}

    def warn(self, message: str) -> None:
        self.module.warn(message)


def failure_result(result: dict[str, Any], exc: EdgeAIError) -> dict[str, Any]:
    """The result of a failed task: the documented keys, then the error's class and details under ``error``."""
    failed = {**result, **exc.result}
    failed[ERROR_KEY] = {**exc.details, "type": type(exc).__name__}
    return failed


def run_module(
    argument_spec: dict[str, Any],
    reconcile: Callable[[ModuleRun], None],
    *,
    requirements: Iterable[Requirement] = (),
    result: dict[str, Any] | None = None,
    **module_kwargs: Any,
) -> None:
    """Run a module: ``reconcile(run)`` fills ``run.result`` (starting from ``result``, else ``changed=False``).

    ``module_kwargs`` go to AnsibleModule (``supports_check_mode``, ``mutually_exclusive``, ...).
    """
    module = AnsibleModule(argument_spec=argument_spec, **module_kwargs)
    for requirement in requirements:
        if requirement.missing(module.params):
            module.fail_json(msg=missing_required_lib(requirement.library), exception=requirement.import_error)
    run = ModuleRun(module, dict(result) if result is not None else {"changed": False})
    try:
        with run.clients:
            reconcile(run)
    except EdgeAIError as exc:
        module.fail_json(msg=str(exc), **failure_result(run.result, exc))
    module.exit_json(**run.result)
