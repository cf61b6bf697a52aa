"""nanobanana: the async Python SDK for the Nano Banana image-editing API.

Example:
    ```python
    import asyncio
    from nanobanana import NanoBanana

    async def main() -> None:
        async with NanoBanana() as client:
            result = await client.generate(
                "change the clothes from image 1 to image 2",
                images=["me.png", "outfit.png"],
                output="out.png",
            )
            print(result.path)

    asyncio.run(main())
    ```
"""

from ._batch import BatchInput, BatchItem, BatchOutcome, BatchProgress, BatchRun, ProgressCallback, read_batch_file
from ._client import NanoBanana
from ._config import PollPolicy
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BatchAbortedError,
    ClientClosedError,
    CloudflareError,
    DownloadError,
    GenerationFailedError,
    InsufficientCreditsError,
    InvalidInputError,
    InvalidResponseError,
    JournalLockedError,
    NanoBananaError,
    NotFoundError,
    RateLimitError,
    ServerError,
    UncertainCreateError,
    WaitTimeoutError,
)
from ._inputs import ImageInput
from ._logs import setup_from_env as _setup_logging_from_env
from ._polling import OnUpdate
from ._sync import SyncNanoBanana
from ._version import __version__
from .types import (
    MAX_INPUT_IMAGES,
    Generation,
    GenerationOptions,
    GenerationRequest,
    GenerationResult,
    SessionInfo,
    Task,
    TaskState,
    TaskStatus,
    User,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BatchAbortedError",
    "ClientClosedError",
    "CloudflareError",
    "BatchInput",
    "BatchItem",
    "BatchOutcome",
    "BatchProgress",
    "BatchRun",
    "DownloadError",
    "Generation",
    "GenerationFailedError",
    "GenerationOptions",
    "GenerationRequest",
    "GenerationResult",
    "ImageInput",
    "InsufficientCreditsError",
    "InvalidInputError",
    "InvalidResponseError",
    "JournalLockedError",
    "MAX_INPUT_IMAGES",
    "NanoBanana",
    "NanoBananaError",
    "NotFoundError",
    "OnUpdate",
    "PollPolicy",
    "ProgressCallback",
    "RateLimitError",
    "ServerError",
    "SessionInfo",
    "SyncNanoBanana",
    "Task",
    "TaskState",
    "TaskStatus",
    "UncertainCreateError",
    "User",
    "WaitTimeoutError",
    "__version__",
    "read_batch_file",
]

_setup_logging_from_env()
