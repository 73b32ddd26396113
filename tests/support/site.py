"""One converged lab site per pytest process, shared by every site-level test.

The lab's site (its two site nodes and the site's objects on the lab cluster) is converged by
site.yml once; after that it is *known converged* and the next test that needs it only proves it
with verify.yml instead of converging it again. It is known converged after:

- Molecule ``default``, which replaces the site nodes with fresh ones and ends with site.yml,
  its idempotence run and verify.yml (it runs first in its lane for this reason, see ``order``);
- a successful site.yml of any test (``converged()``).

It stops being known converged when any test fails (``pytest_runtest_logreport`` in
tests/conftest.py): the next site-level test then converges it again with site.yml. A test that
changes the site restores only what it changed and checks that it did (the lifecycle tests re-run
the playbook of the part they changed and assert the old state is back); a test that changes the
site without restoring it calls ``forget()``.
"""

from __future__ import annotations

import pytest

# The site-lane tests that run first, in this order: Molecule default makes the site from fresh
# nodes, so the tests after it find it converged without a site.yml of their own.
FIRST = ("test_molecule.py::test_scenario[default]",)


class _State:
    known_converged = False


STATE = _State()


def converged() -> None:
    """A site.yml (or Molecule default) just converged the site and proved it."""
    STATE.known_converged = True


def forget() -> None:
    """The site may no longer be as site.yml makes it: the next site-level test converges it."""
    STATE.known_converged = False


def order(items: list[pytest.Item]) -> None:
    """Move the FIRST tests to the front, in FIRST's order; every other test keeps its place."""
    rank = {name: i for i, name in enumerate(FIRST)}

    def key(pair: tuple[int, pytest.Item]) -> tuple[int, int]:
        index, item = pair
        name = f"{item.path.name}::{item.name}"
        return (rank[name], index) if name in rank else (len(FIRST), index)

    items[:] = [pair[1] for pair in sorted(enumerate(items), key=key)]
