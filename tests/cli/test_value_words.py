"""How ipcctl reads VALUE words and put's options: text that starts like
JSON must be JSON (else a usage error with the position), other text is a
string, --string forces a string; --priority/--delay, or an OPTIONS object
in TIMEOUT's place."""
import pytest


@pytest.mark.parametrize("text", ['{"id": 1,', '[1, 2', '"open', '12abc', 'true story', 'null,'])
def test_text_that_starts_like_json_must_parse(ctl, text):
    err = ctl.fail(2, "queue", "put", "jobs", text)
    assert "looks like JSON but is not valid" in err and "at character" in err and "--string" in err, err
    assert ctl.json("queue", "qsize", "jobs") == 0  # nothing was stored


def test_the_error_gives_the_position(ctl):
    err = ctl.fail(2, "queue", "put", "jobs", '{"id": 1,')
    assert "at character 9" in err, err
    err = ctl.fail(2, "queue", "put", "jobs", "--", "-3x")  # a negative number that is not one
    assert "looks like JSON" in err, err


@pytest.mark.parametrize("text", ["hello world", "trueish", "-", "x{1", "nullable"])
def test_other_text_is_a_string(ctl, text):
    ctl.ok("queue", "put", "jobs", text)
    assert ctl.json("queue", "get", "jobs") == text


def test_string_forces_a_string(ctl):
    for text in ('{"id": 1,', "5", '{"a": 1}', "true"):
        ctl.ok("--string", "queue", "put", "jobs", text)
        assert ctl.json("queue", "get", "jobs") == text
    ctl.ok("--string", "dict", "set", "d", "2024-01-01", "7")
    assert ctl.json("--string", "dict", "get", "d", "2024-01-01") == "7"


def test_an_options_object_in_timeouts_place(ctl):
    ctl.ok("queue", "put", "jobs", "low", '{"priority": 5}')
    ctl.ok("queue", "put", "jobs", "high", '{"priority": -1}', "--timeout", "0")
    assert ctl.json("queue", "get", "jobs") == "high"
    assert ctl.json("queue", "get", "jobs") == "low"


def test_priority_flag_lowest_first(ctl):
    ctl.ok("queue", "put", "jobs", "a", "--priority", "3")
    ctl.ok("queue", "put", "jobs", "b", "--priority", "1")
    ctl.ok("queue", "put_many", "jobs", '["c", "d"]', "--priority", "2")
    assert [ctl.json("queue", "get", "jobs") for _ in range(4)] == ["b", "c", "d", "a"]
    ctl.fail(2, "queue", "put", "jobs", "a", "--priority", "high")
    ctl.fail(2, "queue", "put", "jobs", "a", "--priority", "1.5")


def test_delay_flag_hides_the_item(ctl):
    ctl.ok("queue", "put", "jobs", "later", "--delay", "3600")
    ctl.ok("queue", "put", "jobs", "now")
    assert ctl.json("queue", "get", "jobs") == "now"
    ctl.fail(3, "queue", "get", "jobs")   # the delayed one is not served early
    assert ctl.json("queue", "qsize", "jobs") == 1
    ctl.fail(2, "queue", "put", "jobs", "x", "--delay", "-1")


def test_options_given_twice_is_a_usage_error(ctl):
    err = ctl.fail(2, "queue", "put", "jobs", "x", "0", '{"priority": 5}', "--priority", "2")
    assert "given both" in err, err
    ctl.fail(2, "list", "append", "l", "x", "--priority", "2")  # not a put
