"""The FoxAPI client against the sandbox: every path of the contract, and the faults."""

import logging
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import time_machine

from tests.factories import data_uri
from vision import foxapi, sandbox
from vision.foxapi import FoxAPIClient, VisionRequest
from vision.management.commands.foxapi_sandbox import make_server

KEY = "sk-test-7f3a9c1e5b2d"


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def api(sleeps):
    client = FoxAPIClient(foxapi.SANDBOX_BASE_URL, transport=sandbox.SandboxTransport(), sleep=sleeps)
    yield client
    client.close()


def request(**overrides):
    fields = {
        "model": "claude-opus-4-7",
        "prompt": "Describe the picture in two sentences.",
        "image_urls": [data_uri()],
        "max_tokens": 300,
    }
    fields.update(overrides)
    return VisionRequest(**fields)


def sandbox_task_count():
    connection = sandbox._db()
    try:
        return connection.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
    finally:
        connection.close()


# --- The happy paths ----------------------------------------------------------------------------


def test_it_submits_a_task_and_gets_it_back_pending(api, settings):
    settings.FOXAPI_SANDBOX_DURATION = 10
    task = api.submit_vision_task(request(), api_key=KEY)
    assert task.id.startswith("task-llmrouter-")
    assert task.status == "pending"
    assert task.progress == 0
    assert task.model == "claude-opus-4-7"
    assert task.completion is None
    assert task.stream_url == ""


def test_it_follows_the_lifecycle_by_elapsed_time(api, settings):
    settings.FOXAPI_SANDBOX_DURATION = 10
    start = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        task = api.submit_vision_task(request(), api_key=KEY)
        assert api.get_task(task.id, api_key=KEY).status == "pending"
        clock.move_to(start + timedelta(seconds=5))
        middle = api.get_task(task.id, api_key=KEY)
        assert middle.status == "processing"
        assert 40 <= middle.progress <= 60
        clock.move_to(start + timedelta(seconds=11))
        done = api.get_task(task.id, api_key=KEY)
    assert done.status == "completed"
    assert done.is_terminal
    assert done.progress == 100
    assert "Simulated" in done.answer
    assert "60 × 40 pixels" in done.answer
    assert done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens > 0
    assert done.credits_reserved == 2


def test_it_reads_reasoning_when_asked_for(api):
    task = api.submit_vision_task(request(include_reasoning=True), api_key=KEY)
    done = api.get_task(task.id, api_key=KEY)
    assert done.reasoning.startswith("Simulated reasoning")
    assert "reasoning" not in done.answer.lower()


def test_it_sends_every_field_of_the_contract(api):
    seen = []

    class Spy(httpx.BaseTransport):
        def handle_request(self, req):
            seen.append(req)
            return sandbox.SandboxTransport().handle_request(req)

    spying = FoxAPIClient(foxapi.SANDBOX_BASE_URL, transport=Spy())
    spying.submit_vision_task(
        request(temperature=0.2, system_prompt="You write alt text.", include_reasoning=True),
        api_key=KEY,
        stream=True,
    )
    import json

    body = json.loads(seen[0].content)
    assert body == {
        "model": "claude-opus-4-7",
        "prompt": "Describe the picture in two sentences.",
        "image_urls": [data_uri()],
        "sync": False,
        "stream": True,
        "max_tokens": 300,
        "temperature": 0.2,
        "system_prompt": "You write alt text.",
        "include_reasoning": True,
    }
    assert seen[0].headers["Authorization"] == f"Bearer {KEY}"
    assert seen[0].headers["Content-Type"] == "application/json"


def test_optional_fields_are_left_out_when_unset():
    body = request(max_tokens=None).body(sync=False, stream=False)
    assert set(body) == {"model", "prompt", "image_urls", "sync", "stream"}


def test_sync_mode_returns_the_chat_completion(api):
    completion = api.describe_now(request(include_reasoning=True), api_key=KEY)
    assert completion.id.startswith("chatcmpl-")
    assert "Simulated" in completion.answer
    assert completion.finish_reason == "stop"
    assert completion.reasoning
    assert completion.usage.total_tokens > 0


def test_stream_mode_gives_a_url_whose_chunks_add_up_to_the_answer(api):
    task = api.submit_vision_task(request(include_reasoning=True), api_key=KEY, stream=True)
    assert task.stream_url == f"/v1/llm/generations/{task.id}/stream"
    chunks = list(api.stream_task(task.stream_url, api_key=KEY))
    final = api.get_task(task.id, api_key=KEY)
    assert "".join(chunk.content for chunk in chunks) == final.answer
    assert "".join(chunk.reasoning for chunk in chunks) == final.reasoning
    assert chunks[-1].finish_reason == "stop"


def test_sync_stream_mode_streams_the_post_answer(api):
    chunks = list(api.stream_completion(request(), api_key=KEY))
    assert "Simulated" in "".join(chunk.content for chunk in chunks)
    assert chunks[-1].finish_reason == "stop"


def test_a_long_answer_is_cut_at_max_tokens(api):
    completion = api.describe_now(request(max_tokens=5), api_key=KEY)
    assert completion.finish_reason == "length"
    assert completion.usage.completion_tokens == 5


def test_check_key_accepts_a_good_key_and_rejects_a_bad_one(api):
    assert api.check_key(KEY) is True
    with pytest.raises(foxapi.KeyRejected):
        api.check_key("sk-revoked-1234")


# --- Errors from the service --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "error", "words"),
    [
        ("", foxapi.KeyRejected, "No FoxAPI key"),
        ("not-a-key", foxapi.KeyRejected, "did not accept the API key"),
        ("sk-invalid-0000", foxapi.KeyRejected, "did not accept the API key"),
        ("sk-nobalance-0000", foxapi.QuotaExhausted, "run out of balance"),
    ],
)
def test_key_problems_become_plain_messages(api, key, error, words):
    with pytest.raises(error) as caught:
        api.submit_vision_task(request(), api_key=key)
    assert words in caught.value.user_message
    if key:
        assert key not in str(caught.value)
        assert caught.value.status in (401, 402)


def test_an_unknown_task_is_not_found(api):
    with pytest.raises(foxapi.TaskNotFound) as caught:
        api.get_task("task-llmrouter-1-deadbeef", api_key=KEY)
    assert caught.value.status == 404
    assert caught.value.type == "not_found"


def test_another_keys_task_is_not_found(api):
    task = api.submit_vision_task(request(), api_key=KEY)
    with pytest.raises(foxapi.TaskNotFound):
        api.get_task(task.id, api_key="sk-someone-else")


def test_a_validation_error_carries_the_services_message(api):
    with pytest.raises(foxapi.RequestRejected) as caught:
        api.submit_vision_task(request(model="nemotron-3-nano-omni", image_urls=[data_uri()] * 2), api_key=KEY)
    error = caught.value
    assert (error.status, error.code) == (422, "model_rule_violation")
    assert error.user_message == "FoxAPI could not accept this request: model nemotron-3-nano-omni accepts 1 image"
    assert error.short_code == "model_rule_violation"


def test_a_failed_task_reports_its_error(api):
    task = api.submit_vision_task(request(prompt="Please sandbox:fail now"), api_key=KEY)
    failed = api.get_task(task.id, api_key=KEY)
    assert failed.status == "failed"
    assert failed.error_code == "upstream_error"
    assert "failed on purpose" in failed.error_message
    assert failed.answer == ""


def test_an_error_message_never_repeats_the_key():
    def echo(req):
        return httpx.Response(422, json={"error": {"message": f"bad key {KEY} here", "type": "invalid_request_error"}})

    client = FoxAPIClient("https://foxapi.test", transport=httpx.MockTransport(echo))
    with pytest.raises(foxapi.RequestRejected) as caught:
        client.submit_vision_task(request(), api_key=KEY)
    assert KEY not in caught.value.detail
    assert KEY not in caught.value.user_message
    assert "[key]" in caught.value.detail


# --- Retries ------------------------------------------------------------------------------------


def test_a_read_is_retried_after_429_honouring_retry_after(api, sleeps):
    task = api.submit_vision_task(request(), api_key=KEY)
    sandbox.inject_faults([{"status": 429, "retry_after": "3", "method": "GET"}])
    assert api.get_task(task.id, api_key=KEY).status == "completed"
    assert sleeps == [3.0]


def test_retry_after_as_an_http_date_is_honoured(api, sleeps):
    task = api.submit_vision_task(request(), api_key=KEY)
    when = datetime.now(UTC) + timedelta(seconds=4)
    sandbox.inject_faults([{"status": 503, "retry_after": when.strftime("%a, %d %b %Y %H:%M:%S GMT")}])
    api.get_task(task.id, api_key=KEY)
    assert len(sleeps) == 1
    assert 2 <= sleeps[0] <= 4


def test_a_read_backs_off_exponentially_and_gives_up_after_the_last_retry(api, sleeps):
    task = api.submit_vision_task(request(), api_key=KEY)
    sandbox.inject_faults([{"status": 500, "method": "GET"}] * 4)
    with pytest.raises(foxapi.ServiceError) as caught:
        api.get_task(task.id, api_key=KEY)
    assert sleeps == [0.5, 1.0, 2.0]
    assert caught.value.status == 500
    assert caught.value.retryable


def test_backoff_is_capped(sleeps):
    client = FoxAPIClient(
        foxapi.SANDBOX_BASE_URL,
        transport=sandbox.SandboxTransport(),
        sleep=sleeps,
        max_retries=6,
        retry_cap=3,
    )
    sandbox.inject_faults([{"status": 503}] * 6)
    with pytest.raises(foxapi.TaskNotFound):
        client.get_task("task-x", api_key=KEY)
    assert sleeps == [0.5, 1.0, 2.0, 3, 3, 3]


def test_a_retry_after_longer_than_the_cap_is_not_waited_for(api, sleeps):
    sandbox.inject_faults([{"status": 429, "retry_after": "120"}])
    with pytest.raises(foxapi.RateLimited) as caught:
        api.get_task("task-x", api_key=KEY)
    assert sleeps == []
    assert caught.value.retry_after == 120
    assert "too many requests" in caught.value.user_message


def test_a_dropped_connection_on_a_read_is_retried(api, sleeps):
    task = api.submit_vision_task(request(), api_key=KEY)
    sandbox.inject_faults([{"drop": True}])
    assert api.get_task(task.id, api_key=KEY).id == task.id
    assert sleeps == [0.5]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_submit_is_not_retried_on_an_error_status(api, sleeps, status):
    sandbox.inject_faults([{"status": status, "method": "POST"}])
    with pytest.raises((foxapi.RateLimited, foxapi.ServiceError)):
        api.submit_vision_task(request(), api_key=KEY)
    assert sleeps == []
    assert sandbox_task_count() == 0


def test_a_submit_whose_answer_was_lost_is_not_sent_twice(api, sleeps):
    sandbox.inject_faults([{"lose_answer": True, "method": "POST"}])
    with pytest.raises(foxapi.AnswerLost) as caught:
        api.submit_vision_task(request(), api_key=KEY)
    assert sleeps == []
    assert sandbox_task_count() == 1
    assert "may describe the images a second time and charge for both" in caught.value.user_message


def test_a_submit_is_retried_when_the_connection_could_not_be_opened(sleeps):
    attempts = []

    class RefusedOnce(httpx.BaseTransport):
        def handle_request(self, req):
            attempts.append(req)
            if len(attempts) == 1:
                raise httpx.ConnectError("connection refused", request=req)
            return sandbox.SandboxTransport().handle_request(req)

    client = FoxAPIClient(foxapi.SANDBOX_BASE_URL, transport=RefusedOnce(), sleep=sleeps)
    assert client.submit_vision_task(request(), api_key=KEY).status == "completed"
    assert len(attempts) == 2
    assert sandbox_task_count() == 1


def test_connection_failures_become_unreachable(sleeps):
    def refuse(req):
        raise httpx.ConnectError("refused", request=req)

    client = FoxAPIClient("https://foxapi.test", transport=httpx.MockTransport(refuse), sleep=sleeps)
    with pytest.raises(foxapi.Unreachable):
        client.get_task("task-x", api_key=KEY)
    assert len(sleeps) == 3


def test_a_malformed_body_is_a_bad_response(api):
    sandbox.inject_faults([{"malformed": True}])
    with pytest.raises(foxapi.BadResponse) as caught:
        api.get_task("task-x", api_key=KEY)
    assert "could not read" in caught.value.user_message


def test_a_submit_answered_with_a_malformed_body_may_have_created_the_task(api):
    sandbox.inject_faults([{"malformed": True}])
    with pytest.raises(foxapi.AnswerLost):
        api.submit_vision_task(request(), api_key=KEY)


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2, 3]",
        b'{"object": "llm.generation.task"}',
        b"<html>Bad gateway</html>",
    ],
)
def test_bodies_that_are_not_tasks_are_bad_responses(body):
    client = FoxAPIClient(
        "https://foxapi.test", transport=httpx.MockTransport(lambda req: httpx.Response(200, content=body))
    )
    with pytest.raises(foxapi.BadResponse):
        client.get_task("task-x", api_key=KEY)


def test_every_field_is_read_defensively():
    task = foxapi.parse_task(
        {
            "id": "task-1",
            "status": "processing",
            "progress": "57",
            "created": "not a time",
            "results": [{"choices": [{"message": {"content": [{"type": "text", "text": "Hi"}]}}], "usage": None}],
            "error": "oops",
            "usage": [],
        }
    )
    assert (task.status, task.progress, task.created, task.answer) == ("processing", 57, None, "Hi")
    assert task.usage == foxapi.Usage()
    failed = foxapi.parse_task(
        {"id": "t", "status": "failed", "error": {"error": {"code": "x", "message": "m"}}, "progress": 900}
    )
    assert (failed.error_code, failed.error_message, failed.progress) == ("x", "m", 100)


def test_the_key_is_never_logged(api, caplog):
    caplog.set_level(logging.DEBUG)
    task = api.submit_vision_task(request(), api_key=KEY)
    api.get_task(task.id, api_key=KEY)
    with pytest.raises(foxapi.KeyRejected):
        api.get_task(task.id, api_key="sk-invalid-" + KEY)
    assert caplog.records
    assert KEY not in caplog.text


# --- Over a real socket: the standalone sandbox ---------------------------------------------------


@pytest.fixture
def sandbox_server():
    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_standalone_sandbox_speaks_the_same_contract(sandbox_server, sleeps):
    client = FoxAPIClient(sandbox_server, sleep=sleeps)
    task = client.submit_vision_task(request(), api_key=KEY, stream=True)
    chunks = list(client.stream_task(task.stream_url, api_key=KEY))
    assert "".join(chunk.content for chunk in chunks) == client.get_task(task.id, api_key=KEY).answer
    with pytest.raises(foxapi.RequestRejected):
        client.submit_vision_task(request(max_tokens=None), api_key=KEY)


def test_a_header_that_cannot_be_written_is_not_a_lost_answer(sandbox_server, sleeps):
    client = FoxAPIClient(sandbox_server, sleep=sleeps)
    with pytest.raises(foxapi.NotSent):
        client.submit_vision_task(request(), api_key=KEY + "\n")
    assert sandbox_task_count() == 0


def test_a_slow_submit_is_an_uncertain_answer_not_retried(sandbox_server, sleeps):
    client = FoxAPIClient(sandbox_server, timeout=0.3, submit_timeout=0.3, sleep=sleeps)
    httpx.post(f"{sandbox_server}/_sandbox/faults", json=[{"delay": 1.0, "method": "POST"}])
    with pytest.raises(foxapi.AnswerLost):
        client.submit_vision_task(request(), api_key=KEY)
    assert sleeps == []


def test_a_submit_waits_longer_than_a_read(sandbox_server, sleeps):
    client = FoxAPIClient(sandbox_server, timeout=0.3, submit_timeout=3, sleep=sleeps)
    httpx.post(f"{sandbox_server}/_sandbox/faults", json=[{"delay": 0.6, "method": "POST"}])
    assert client.submit_vision_task(request(), api_key=KEY).id.startswith("task-")


def test_a_slow_read_times_out(sandbox_server, sleeps):
    client = FoxAPIClient(sandbox_server, timeout=0.3, sleep=sleeps)
    httpx.post(f"{sandbox_server}/_sandbox/faults", json=[{"delay": 1.0, "method": "GET"}])
    with pytest.raises(foxapi.TimedOut) as caught:
        client.get_task("task-x", api_key=KEY)
    assert sleeps == []  # a read timeout is not waited out again
    assert "took too long" in caught.value.user_message


def test_a_quick_read_tries_once(api, sleeps):
    sandbox.inject_faults([{"status": 503}])
    with pytest.raises(foxapi.ServiceError):
        api.get_task("task-x", api_key=KEY, quick=True)
    assert sleeps == []


def test_a_dropped_connection_over_a_socket_is_retried_for_reads(sandbox_server, sleeps):
    client = FoxAPIClient(sandbox_server, sleep=sleeps)
    task = client.submit_vision_task(request(), api_key=KEY)
    httpx.post(f"{sandbox_server}/_sandbox/faults", json=[{"drop": True, "method": "GET"}])
    assert client.get_task(task.id, api_key=KEY).status == "completed"
    assert sleeps == [0.5]


def test_the_stream_url_must_be_on_foxapis_own_host(sleeps):
    seen = []

    def answer(req):
        seen.append(str(req.url))
        return httpx.Response(200, text="data: [DONE]\n\n")

    client = FoxAPIClient("https://api.foxapi.test", transport=httpx.MockTransport(answer), sleep=sleeps)
    assert list(client.stream_task("/v1/llm/generations/t/stream", api_key=KEY)) == []
    assert seen == ["https://api.foxapi.test/v1/llm/generations/t/stream"]
    for elsewhere in ("https://evil.example/steal", "//evil.example/x", "http://api.foxapi.test/x"):
        with pytest.raises(foxapi.BadResponse):
            list(client.stream_task(elsewhere, api_key=KEY))
    assert len(seen) == 1


def answering(status, body=None, headers=None):
    """A client whose FoxAPI answers every request with this status; records what it was asked."""
    seen = []

    def reply(req):
        seen.append(req)
        if isinstance(body, bytes):
            return httpx.Response(status, content=body, headers=headers)
        return httpx.Response(status, json=body if body is not None else {}, headers=headers)

    client = FoxAPIClient("https://foxapi.test", transport=httpx.MockTransport(reply), sleep=Sleeps())
    return client, seen


def test_403_is_a_refused_key():
    client, _ = answering(403, {"error": {"message": "forbidden", "type": "permission_error"}})
    with pytest.raises(foxapi.KeyRejected):
        client.get_task("t", api_key=KEY)


def test_a_422_without_channel_is_never_resent_and_says_the_model_is_unavailable():
    client, seen = answering(422, {"error": {"message": "no channel", "type": "service_unavailable_error"}})
    with pytest.raises(foxapi.RequestRejected) as caught:
        client.submit_vision_task(request(), api_key=KEY)
    assert not caught.value.retryable and len(seen) == 1
    assert "unavailable" in caught.value.user_message


def test_a_422_for_advanced_options_says_which_settings_to_clear():
    body = {"error": {"message": "x", "type": "invalid_request_error", "code": "unsupported_advanced_options"}}
    client, _ = answering(422, body)
    with pytest.raises(foxapi.RequestRejected) as caught:
        client.submit_vision_task(request(temperature=1.5), api_key=KEY)
    assert "Advanced settings" in caught.value.user_message


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_a_wrong_address_not_a_lost_answer(status):
    client, seen = answering(status, b"", headers={"Location": "https://elsewhere.test/"})
    with pytest.raises(foxapi.WrongAddress) as caught:
        client.submit_vision_task(request(), api_key=KEY)
    assert "Nothing was sent" in caught.value.user_message and len(seen) == 1
    with pytest.raises(foxapi.WrongAddress):
        client.get_task("task-1", api_key=KEY)


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateway_error_to_a_submit_may_have_created_the_task(status):
    client, seen = answering(status, b"<html>Bad gateway</html>")
    with pytest.raises(foxapi.AnswerLost):
        client.submit_vision_task(request(), api_key=KEY)
    assert len(seen) == 1
    with pytest.raises(foxapi.ServiceError):  # a read may be tried again
        client.get_task("task-1", api_key=KEY)


def test_an_unlisted_server_error_is_not_retried():
    client, seen = answering(501, b"")
    with pytest.raises(foxapi.FoxAPIError) as caught:
        client.get_task("task-1", api_key=KEY)
    assert not caught.value.retryable and len(seen) == 1


def test_413_says_the_images_are_too_large():
    client, _ = answering(413, b"<html>Request Entity Too Large</html>")
    with pytest.raises(foxapi.RequestRejected) as caught:
        client.submit_vision_task(request(), api_key=KEY)
    assert "too large" in caught.value.user_message and caught.value.short_code == "request_too_large"


def test_a_404_to_a_submit_is_a_wrong_address():
    client, _ = answering(404, {"error": {"message": "Not found", "type": "not_found"}})
    with pytest.raises(foxapi.WrongAddress):
        client.submit_vision_task(request(), api_key=KEY)


def test_a_base_url_ending_in_v1_does_not_double_it():
    client, seen = answering(200, {"id": "task-1", "status": "pending"})
    client = FoxAPIClient("https://foxapi.test/v1/", transport=client.http._transport)
    client.get_task("task-1", api_key=KEY)
    assert seen[0].url.path == "/v1/tasks/task-1"


def test_the_task_id_is_opaque_and_stays_one_path_segment():
    client, seen = answering(200, {"id": "a/b?c#d%e", "status": "pending"})
    assert client.get_task("a/b?c#d%e", api_key=KEY).id == "a/b?c#d%e"
    assert seen[0].url.raw_path == b"/v1/tasks/a%2Fb%3Fc%23d%25e"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_retry_after_that_is_not_a_number_of_seconds_is_ignored(value):
    client, _ = answering(429, {"error": {"message": "slow down", "type": "rate_limit_error"}}, {"Retry-After": value})
    client.max_retries = 0
    with pytest.raises(foxapi.RateLimited) as caught:
        client.get_task("task-1", api_key=KEY)
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    ("reported", "carrying", "status"),
    [
        ("canceled", {}, "cancelled"),
        ("succeeded", {}, "completed"),
        ("done", {"results": [{"choices": [{"message": {"content": "Hi"}}]}]}, "completed"),
        ("errored", {"error": {"code": "x", "message": "m"}}, "failed"),
        ("queued", {}, "processing"),
        ("", {}, "pending"),
    ],
)
def test_a_status_the_contract_does_not_name_is_read_by_what_the_task_carries(reported, carrying, status):
    assert foxapi.parse_task({"id": "t", "status": reported, **carrying}).status == status


def test_a_body_that_cannot_be_decoded_is_a_bad_response(sleeps):
    def garbled(req):
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"not gzip at all")

    client = FoxAPIClient("https://foxapi.test", transport=httpx.MockTransport(garbled), sleep=sleeps)
    with pytest.raises(foxapi.BadResponse):
        client.get_task("task-x", api_key=KEY)


def test_sync_mode_errors_are_plain(api):
    with pytest.raises(foxapi.RequestRejected):
        api.describe_now(request(max_tokens=None), api_key=KEY)
    with pytest.raises(foxapi.ServiceError):
        api.describe_now(request(prompt="sandbox:fail"), api_key=KEY)


def test_is_sandbox_detects_the_standalone_sandbox(sandbox_server, settings):
    settings.FOXAPI_BASE_URL = sandbox_server
    foxapi._sandbox_probe.clear()
    assert foxapi.is_sandbox() is True
    settings.FOXAPI_BASE_URL = "https://api.foxapi.cc"
    assert foxapi.is_sandbox() is False


def test_a_prompt_over_the_contract_s_limit_is_refused_before_anything_is_sent(api):
    assert len(request(prompt="x" * foxapi.MAX_PROMPT_CHARS).prompt) == 100_000  # the limit itself is fine
    before = sandbox_task_count()
    with pytest.raises(foxapi.PromptTooLong) as caught:
        api.submit_vision_task(request(prompt="x" * 100_001), api_key=KEY)
    assert "100,000 characters" in caught.value.user_message
    assert isinstance(caught.value, foxapi.RequestRejected) and not caught.value.retryable
    assert sandbox_task_count() == before


def test_a_task_id_too_long_to_keep_is_a_bad_response():
    with pytest.raises(foxapi.BadResponse):
        foxapi.parse_task({"id": "t" * (foxapi.MAX_TASK_ID_CHARS + 1), "status": "pending"})
    assert foxapi.parse_task({"id": "t" * foxapi.MAX_TASK_ID_CHARS}).status == "pending"
