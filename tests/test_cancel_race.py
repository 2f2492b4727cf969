"""`kill_sandboxes` when the aborted job removes its own container while cancel is listing or removing.

CI caught the listing race in a test helper: `containers.list` inspects each container it found, and one
removed in between raised NotFound. In `/steward cancel` that stopped the sweep early and left the run's other
containers.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest
from docker.errors import NotFound
from docker.models.containers import Container, ContainerCollection

from jobs.commands.cancel import kill_sandboxes
from sandbox.labels import RUN_LABEL
from tests.sandbox_fixtures import docker_client, sandbox_image, steward_containers  # noqa: F401


@pytest.fixture
def two_containers(docker_client: docker.DockerClient, sandbox_image: str) -> Iterator[tuple[str, list[str]]]:  # noqa: F811
    run_id = f"test-cancel-race-{uuid.uuid4().hex[:8]}"
    made = [
        docker_client.containers.create(
            sandbox_image, "true", labels={RUN_LABEL: run_id}, name=f"{run_id}-{n}"
        )
        for n in range(2)
    ]
    yield run_id, [c.id for c in made]
    for c in made:
        with contextlib.suppress(NotFound):
            docker_client.api.remove_container(c.id, force=True, v=True)


RACES = {"listing": (ContainerCollection, "get"), "removal": (Container, "remove")}
"""Where the aborted job removes a container under cancel: while the listing inspects it (its `get`), or
between the listing and cancel's own `remove`."""


@pytest.mark.parametrize("race", RACES)
def test_a_container_the_job_removed_first_does_not_stop_the_sweep(
    docker_client: docker.DockerClient,  # noqa: F811
    two_containers: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    race: str,
) -> None:
    run_id, _ = two_containers
    owner, name = RACES[race]
    real = getattr(owner, name)
    gone: list[str] = []

    def after_the_job_removed_it(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not gone:  # the first container cancel reaches vanishes just before it does
            container_id = args[0] if race == "listing" else self.id
            self.client.api.remove_container(container_id, force=True)
            gone.append(container_id)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, after_the_job_removed_it)
    assert kill_sandboxes(run_id) == 1
    assert gone and steward_containers(docker_client, run_id) == []
