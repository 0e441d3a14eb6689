"""The fake API server answers like a real one, as the official client's typed API and kubectl see it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient, Configuration, CoreV1Api
from kubernetes.client.exceptions import ApiException

from tests.collectors import kube_manifests as k
from tests.fakes.kube_apiserver import FakeKubeApiServer, Kubeconfig, KubeContext


def _core(server: FakeKubeApiServer) -> CoreV1Api:
    configuration = Configuration()
    configuration.host = server.url
    configuration.ssl_ca_cert = str(server.ca_file)
    configuration.api_key = {"authorization": f"Bearer {server.token}"}
    return CoreV1Api(ApiClient(configuration))


@pytest.fixture
def pods(kube_server: Any) -> tuple[FakeKubeApiServer, CoreV1Api]:
    server = kube_server()
    server.load(
        k.pod("a", "one", labels={"app": "ai-agent", "tier": "llm"}, service_account="bot"),
        k.pod("b", "one", labels={"app": "web", "tier": "front"}),
        k.pod("c", "two", labels={"app": "ai-agent"}, service_account="bot"),
        k.pod("d", "two", labels={"legacy": "yes"}),
    )
    return server, _core(server)


def _names(result: Any) -> list[str]:
    return sorted(item.metadata.name for item in result.items)


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=ai-agent", ["a", "c"]),
        ("app==ai-agent", ["a", "c"]),
        ("app!=ai-agent", ["b", "d"]),
        ("tier in (llm,front)", ["a", "b"]),
        ("tier notin (llm)", ["b", "c", "d"]),
        ("tier", ["a", "b"]),
        ("!tier", ["c", "d"]),
        ("app=ai-agent,tier in (llm, front)", ["a"]),
    ],
)
def test_label_selectors(pods: tuple[FakeKubeApiServer, CoreV1Api], selector: str, expected: list[str]) -> None:
    _, core = pods
    assert _names(core.list_pod_for_all_namespaces(label_selector=selector)) == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("metadata.name=b", ["b"]),
        ("metadata.namespace=two", ["c", "d"]),
        ("spec.serviceAccountName=bot,metadata.namespace!=two", ["a"]),
    ],
)
def test_field_selectors(pods: tuple[FakeKubeApiServer, CoreV1Api], selector: str, expected: list[str]) -> None:
    _, core = pods
    assert _names(core.list_pod_for_all_namespaces(field_selector=selector)) == expected


def test_unsupported_field_and_bad_selectors_are_refused_with_400(pods: tuple[FakeKubeApiServer, CoreV1Api]) -> None:
    _, core = pods
    for kwargs in ({"field_selector": "spec.hostNetwork=true"}, {"label_selector": "app in ai-agent"}):
        with pytest.raises(ApiException) as raised:
            core.list_pod_for_all_namespaces(**kwargs)
        assert raised.value.status == 400


def test_namespaced_lists_gets_and_paging(pods: tuple[FakeKubeApiServer, CoreV1Api]) -> None:
    server, core = pods
    assert _names(core.list_namespaced_pod("two")) == ["c", "d"]
    assert core.read_namespaced_pod("a", "one").spec.service_account_name == "bot"
    first = core.list_pod_for_all_namespaces(limit=3)
    assert len(first.items) == 3 and first.metadata.remaining_item_count == 1
    rest = core.list_pod_for_all_namespaces(limit=3, _continue=first.metadata._continue)
    assert _names(rest) == ["d"] and not rest.metadata._continue
    server.expire_continue_tokens()
    with pytest.raises(ApiException) as raised:
        core.list_pod_for_all_namespaces(limit=3, _continue=first.metadata._continue)
    assert raised.value.status == 410
    with pytest.raises(ApiException) as raised:
        core.read_namespaced_pod("zzz", "one")
    assert raised.value.status == 404


def test_a_wrong_token_is_refused_with_401(pods: tuple[FakeKubeApiServer, CoreV1Api]) -> None:
    _server, core = pods
    core.api_client.configuration.api_key = {"authorization": "Bearer not-the-token"}
    with pytest.raises(ApiException) as raised:
        core.list_pod_for_all_namespaces()
    assert raised.value.status == 401


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_lists_with_a_label_selector(pods: tuple[FakeKubeApiServer, CoreV1Api], tmp_path: Path) -> None:
    server, _ = pods
    kubeconfig = Kubeconfig([KubeContext("fake", server, "fake")]).write(tmp_path / "kubeconfig")
    output = subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            str(kubeconfig),
            "--cache-dir",
            str(tmp_path / "cache"),
            "get",
            "pods",
            "-A",
            "-l",
            "tier in (llm,front)",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert sorted(item["metadata"]["name"] for item in json.loads(output)["items"]) == ["a", "b"]
    assert server.requests_to("/api/v1/pods")[-1].query["labelSelector"] == "tier in (llm,front)"
