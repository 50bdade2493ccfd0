"""Clients for running workflows: the cmfy.cloud jobs API, a self-hosted ComfyUI, an emulator.

- :class:`Client` / :class:`AsyncClient`: the cmfy.cloud jobs API (``submit``, ``get``,
  ``wait``, ``download``, ``rate_limits``);
- :class:`ComfyUIClient` / :class:`ComfyUIPool` / :class:`AsyncComfyUIPool`: one or several
  self-hosted ComfyUI servers;
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
    from .cloud import AsyncClient, Client
    from .comfyui import AsyncComfyUIPool, ComfyUIClient, ComfyUIPool
    from .emulator import Emulator, EmulatorConfig, FaultRule
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
