"""Clients for running workflows: the cmfy.cloud jobs API, a self-hosted ComfyUI, an emulator.

- :class:`Client` / :class:`AsyncClient`: the cmfy.cloud jobs API (``submit``, ``get``,
  ``wait``, ``download``, ``rate_limits``);
- :class:`ComfyUIClient` / :class:`AsyncComfyUIClient` / :class:`ComfyUIPool` /
  :class:`AsyncComfyUIPool`: one or several self-hosted ComfyUI servers (live events over the
  websocket, uploads of local input files, cancel);
- :class:`ComfyApiClient` / :class:`AsyncComfyApiClient`: the Comfy API v2 (Comfy Cloud,
  serverless deployments, comfy-api-proxy);
- :class:`JobEvent`: what a running job reports, the same for every backend;
- :class:`Emulator`: a local cmfy.cloud API for tests (``cmfy-graph emulator``);
- :mod:`cmfy_graph.client.errors`: the error hierarchy; :mod:`cmfy_graph.client.webhooks`.

Names are loaded on first use, so ``import cmfy_graph.client`` does not import httpx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    AuthenticationError,
    ConfigurationError,
    InvalidWorkflowError,
    JobFailedError,
    JobNotReadyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SubmitUncertainError,
    UnexpectedResponseError,
    WaitTimeout,
)

if TYPE_CHECKING:
    from ._base import RateLimits, RetryPolicy
    from .aio import AsyncComfyApiClient, AsyncComfyUIClient
    from .cloud import AsyncClient, Client
    from .comfy_api import ComfyApiClient
    from .comfyui import AsyncComfyUIPool, ComfyUIClient, ComfyUIPool
    from .emulator import Emulator, EmulatorConfig, FaultRule
    from .events import JobEvent
    from .jobs import Job, JobError
    from .webhooks import SeenJobs, aparse_webhook, check_webhook_url, parse_webhook

__all__ = [
    "Client",
    "AsyncClient",
    "Job",
    "JobError",
    "RateLimits",
    "RetryPolicy",
    "ComfyUIClient",
    "ComfyUIPool",
    "AsyncComfyUIPool",
    "AsyncComfyUIClient",
    "ComfyApiClient",
    "AsyncComfyApiClient",
    "JobEvent",
    "Emulator",
    "EmulatorConfig",
    "FaultRule",
    "check_webhook_url",
    "parse_webhook",
    "aparse_webhook",
    "SeenJobs",
    "ApiError",
    "ConfigurationError",
    "AuthenticationError",
    "PermissionDeniedError",
    "InvalidWorkflowError",
    "NotFoundError",
    "RateLimitError",
    "ServerError",
    "UnexpectedResponseError",
    "ApiConnectionError",
    "ApiTimeoutError",
    "SubmitUncertainError",
    "WaitTimeout",
    "JobNotReadyError",
    "JobFailedError",
]

_LAZY = {
    "Job": "jobs",
    "JobError": "jobs",
    "RateLimits": "_base",
    "RetryPolicy": "_base",
    "Client": "cloud",
    "AsyncClient": "cloud",
    "ComfyUIClient": "comfyui",
    "ComfyUIPool": "comfyui",
    "AsyncComfyUIPool": "comfyui",
    "AsyncComfyUIClient": "aio",
    "ComfyApiClient": "comfy_api",
    "AsyncComfyApiClient": "aio",
    "JobEvent": "events",
    "Emulator": "emulator",
    "EmulatorConfig": "emulator",
    "FaultRule": "emulator",
    "check_webhook_url": "webhooks",
    "parse_webhook": "webhooks",
    "aparse_webhook": "webhooks",
    "SeenJobs": "webhooks",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'cmfy_graph.client' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{mod}"), name)
