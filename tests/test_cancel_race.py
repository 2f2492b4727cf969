"""`kill_sandboxes` when the aborted job removes its own container while cancel is listing or removing.

CI caught the listing race in a test helper: `containers.list` inspects each container it found, and one
removed in between raised NotFound. In `/steward cancel` that stopped the sweep early and left the run's other
containers.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

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


def test_a_container_removed_during_the_listing_does_not_stop_the_sweep(
    docker_client: docker.DockerClient,  # noqa: F811
    two_containers: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_id, _ = two_containers
    real_get = ContainerCollection.get
    gone: list[str] = []

    def get_after_the_job_removed_it(self: ContainerCollection, container_id: str) -> Container:
        if not gone:  # the first container the listing inspects vanishes just before the inspect
            self.client.api.remove_container(container_id, force=True)
            gone.append(container_id)
        return real_get(self, container_id)

    monkeypatch.setattr(ContainerCollection, "get", get_after_the_job_removed_it)
    assert kill_sandboxes(run_id) == 1
    assert gone and steward_containers(docker_client, run_id) == []


def test_a_container_removed_between_listing_and_removal_does_not_stop_the_sweep(
    docker_client: docker.DockerClient,  # noqa: F811
    two_containers: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_id, _ = two_containers
    real_remove = Container.remove
    gone: list[str] = []

    def remove_after_the_job_did(self: Container, **kwargs: object) -> None:
        if not gone:
            self.client.api.remove_container(self.id, force=True)
            gone.append(self.id)
        real_remove(self, **kwargs)

    monkeypatch.setattr(Container, "remove", remove_after_the_job_did)
    assert kill_sandboxes(run_id) == 1
    assert gone and steward_containers(docker_client, run_id) == []
