"""Every method of the blocking client against the emulator: the same behaviour as the async client's."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from nanobanana import (
    BatchProgress,
    GenerationFailedError,
    InvalidInputError,
    NanoBanana,
    SyncNanoBanana,
    TaskState,
    TaskStatus,
)
from nanobanana.emulator import Emulator, sample_images

PROMPT = "change the clothes from image 1 to image 2"


def test_generate_uploads_local_images_and_saves_the_result(
    nanobanana_emulator: Emulator, client: SyncNanoBanana, tmp_path: Path
) -> None:
    paths = []
    for name, data in sample_images()[:2]:
        paths.append(tmp_path / name)
        paths[-1].write_bytes(data)
    result = client.generate(PROMPT, images=paths, output=tmp_path / "out.png")
    assert result.path == tmp_path / "out.png"
    assert result.path.read_bytes().startswith(b"\x89PNG")
    assert nanobanana_emulator.count("upload") == 2
    assert nanobanana_emulator.count("create") == 1


def test_generate_calls_a_plain_on_update_with_each_state(
    nanobanana_emulator: Emulator, client: SyncNanoBanana
) -> None:
    seen: list[str] = []
    result = client.generate(
        PROMPT, image_urls=nanobanana_emulator.sample_urls[:2], on_update=lambda s: seen.append(s.state_word)
    )
    assert result.content is not None
    assert result.content.startswith(b"\x89PNG")
    assert seen[-1] == "succeed"
    assert result.status.state is TaskState.SUCCEED


def test_the_steps_one_by_one(nanobanana_emulator: Emulator, client: SyncNanoBanana, tmp_path: Path) -> None:
    url = client.upload(sample_images()[2][1], filename="banana.png")
    task = client.create("make it night", image_urls=[url], resolution="2K")
    assert client.status(task.task_id).task_id == task.task_id
    updates: list[TaskStatus] = []
    final = client.wait(task.task_id, timeout=10, on_update=updates.append)
    assert final.url is not None
    assert updates[-1].is_done
    assert client.download(final.url).startswith(b"\x89PNG")
    saved = client.download(final.url, tmp_path / "night.png")
    assert saved == tmp_path / "night.png"
    assert saved.read_bytes().startswith(b"\x89PNG")


def test_generate_batch_returns_every_outcome_in_input_order(
    nanobanana_emulator: Emulator, client: SyncNanoBanana, tmp_path: Path
) -> None:
    progress: list[BatchProgress] = []
    items = [
        "a banana in space",
        {"prompt": ""},
        {"prompt": "make it night", "image_urls": nanobanana_emulator.sample_urls[:1]},
    ]
    outcomes = client.generate_batch(
        items, output_dir=tmp_path, journal=tmp_path / "run.jsonl", on_progress=progress.append
    )
    assert [o.index for o in outcomes] == [0, 1, 2]
    assert [o.ok for o in outcomes] == [True, False, True]
    assert isinstance(outcomes[1].error, InvalidInputError)
    assert progress[-1].finished == 3


@pytest.mark.nanobanana_emulator(failure_rate=1.0)
def test_a_failed_generation_raises_with_its_task_id(nanobanana_emulator: Emulator, client: SyncNanoBanana) -> None:
    with pytest.raises(GenerationFailedError) as caught:
        client.generate(PROMPT, image_urls=nanobanana_emulator.sample_urls[:1])
    assert caught.value.task_id in nanobanana_emulator.tasks


def test_sign_in_by_code_save_whoami_and_logout(nanobanana_emulator: Emulator, tmp_path: Path) -> None:
    with SyncNanoBanana(base_url=nanobanana_emulator.url, session_file=tmp_path / "session.json") as client:
        assert client.whoami() is None
        client.send_login_code("me@example.com")
        session = client.login("me@example.com", nanobanana_emulator.login_codes["me@example.com"], save=True)
        assert session.user.email == "me@example.com"
        assert client.session_file.exists()
        assert client.save_session(tmp_path / "copy.json") == tmp_path / "copy.json"
        who = client.whoami()
        assert who is not None
        assert who.user.email == "me@example.com"
        client.logout()
        assert client.session_token is None
        assert not client.session_file.exists()


def test_properties_and_repr_never_show_the_token(nanobanana_emulator: Emulator, client: SyncNanoBanana) -> None:
    token = client.session_token
    assert token is not None
    assert client.base_url == nanobanana_emulator.url
    assert token not in repr(client)
    assert repr(client) == f"SyncNanoBanana(base_url={nanobanana_emulator.url!r}, signed_in=True)"


def test_a_bad_option_is_the_async_clients_error(nanobanana_emulator: Emulator) -> None:
    with pytest.raises(InvalidInputError, match="max_retries"):
        SyncNanoBanana(base_url=nanobanana_emulator.url, max_retries=-1)


def test_an_aiohttp_session_is_refused_with_what_to_do() -> None:
    with pytest.raises(InvalidInputError, match=r"session=.*NanoBanana in async code"):
        SyncNanoBanana(session=object())  # type: ignore[arg-type]


_PROPERTIES = ["base_url", "session_token", "session_file"]
_METHODS = [
    "create",
    "status",
    "wait",
    "download",
    "upload",
    "generate",
    "generate_batch",
    "send_login_code",
    "login",
    "whoami",
    "logout",
    "save_session",
]


@pytest.mark.parametrize("name", _METHODS)
def test_each_method_takes_the_async_methods_parameters(name: str) -> None:
    blocking = inspect.signature(getattr(SyncNanoBanana, name))
    awaited = inspect.signature(getattr(NanoBanana, name))
    assert blocking.parameters == awaited.parameters
    if name != "generate_batch":  # a list of outcomes, where the async client returns an awaitable run
        assert blocking.return_annotation == awaited.return_annotation


def test_every_public_name_of_the_async_client_is_checked_here() -> None:
    # A method added to NanoBanana fails here until SyncNanoBanana has it and _METHODS lists it.
    assert {name for name in dir(NanoBanana) if not name.startswith("_")} == {*_METHODS, "close", *_PROPERTIES}


def test_the_constructor_takes_the_async_clients_options_but_session() -> None:
    options = dict(inspect.signature(NanoBanana).parameters)
    del options["session"]
    assert dict(inspect.signature(SyncNanoBanana).parameters) == options


@pytest.mark.parametrize("name", _PROPERTIES)
def test_each_property_of_the_async_client_is_there(name: str, client: SyncNanoBanana) -> None:
    assert isinstance(getattr(NanoBanana, name), property)
    assert isinstance(getattr(SyncNanoBanana, name), property)
