"""Error messages worth reading (issue 11): what the server logs, what the wire says, what the
client checks before sending."""

import logging

import numpy as np
import pytest

from conftest import WAIT, start_server
from slicerbridge import Client, Image, SlicerBridgeError, Table
from slicerbridge.errors import ErrorCode
from test_server import error_code, established


def test_a_range_error_names_the_parameter_the_value_and_the_range(running):
    peer = established(running)
    reply = peer.call(1, "invoke", {"processor": "slow", "parameters": {"seconds": 5000.0}})
    assert error_code(reply) == ErrorCode.INVALID_ARGUMENT
    error = reply["error"]
    assert error["message"] == "parameter seconds = 5000.0 is out of range [0, 3600]"
    assert error["details"] == {"name": "seconds", "value": 5000.0, "minimum": 0.0,
                                "maximum": 3600.0}


def test_misspelt_names_get_a_suggestion(running):
    peer = established(running)
    reply = peer.call(1, "describe", {"processor": "ehco"})
    assert error_code(reply) == ErrorCode.UNKNOWN_PROCESSOR
    assert reply["error"]["message"] == "no processor named 'ehco' (did you mean 'echo'?)"
    reply = peer.call(2, "invoke", {"processor": "slow", "parameters": {"secnds": 1.0}})
    assert reply["error"]["message"] == ("slow has no parameter named 'secnds' (did you mean "
                                         "'seconds'?) (its parameters: seconds, steps)")
    reply = peer.call(3, "invoke", {"processor": "fail", "parameters": {"mode": "exeption"}})
    assert "must be one of error, exception (did you mean 'exception'?)" in \
        reply["error"]["message"]


def test_a_wrong_output_names_what_came_back(running):
    peer = established(running)
    reply = peer.call(1, "invoke", {"processor": "wrong_output"})
    assert error_code(reply) == ErrorCode.PROCESSOR_FAILED
    assert reply["error"]["message"] == ("wrong_output returned Table (table) as output image, "
                                         "which is declared as image")


def test_error_text_is_not_repeated():
    assert str(SlicerBridgeError(ErrorCode.CANCELLED)) == "cancelled (100)"
    text = str(SlicerBridgeError(ErrorCode.UNKNOWN_PROCESSOR, "no processor named 'x'"))
    assert text == "unknown_processor (102): no processor named 'x'"


def test_the_server_logs_every_failed_call_but_the_wire_stays_clean(running, caplog):
    peer = established(running)
    with caplog.at_level(logging.INFO, logger="slicerbridge.server"):
        reply = peer.call(1, "invoke", {"processor": "fail", "parameters": {
            "code": 1234, "message": "the model found no lungs"}})
        assert reply["error"] == {"code": 1234, "message": "the model found no lungs"}
        reply = peer.call(2, "invoke", {"processor": "fail", "parameters": {
            "mode": "exception", "message": "secret detail"}})
    assert reply["error"]["message"] == ("the processor raised RuntimeError (its message is in "
                                         "the server's log)")
    records = [r for r in caplog.records if r.name == "slicerbridge.server"]
    assert any("fail failed with processor_error (1234): the model found no lungs"
               in r.getMessage() for r in records)
    assert any(r.levelno == logging.ERROR and "RuntimeError: secret detail" in r.getMessage()
               for r in records)
    with caplog.at_level(logging.INFO, logger="slicerbridge.server"):
        peer.call(3, "invoke", {"processor": "slow", "parameters": {"seconds": -1.0}})
    assert any("invoke slow refused: invalid_argument (103): parameter seconds = -1.0 is out "
               "of range [0, 3600]" in r.getMessage() for r in caplog.records)


def test_expose_errors_puts_the_exception_message_in_the_answer():
    instance = start_server(expose_errors=True)
    try:
        peer = established(instance)
        reply = peer.call(1, "invoke", {"processor": "fail", "parameters": {
            "mode": "exception", "message": "shape (3, 4) does not fit"}})
        assert reply["error"]["message"] == ("the processor raised RuntimeError: shape (3, 4) "
                                             "does not fit")
    finally:
        instance.server.close()


def test_the_client_checks_a_call_against_the_description_before_sending(running):
    with Client.connect(running.text_address, timeout=WAIT) as client:
        # Without the description the server answers.
        with pytest.raises(SlicerBridgeError) as remote:
            client.invoke("slow", parameters={"seconds": -1.0}, timeout=WAIT)
        assert remote.value.timings is not None  # an answer from the server
        client.catalog(timeout=WAIT)
        with pytest.raises(SlicerBridgeError) as local:
            client.invoke("slow", parameters={"seconds": -1.0}, timeout=WAIT)
        assert local.value.timings is None  # raised here, nothing was sent
        assert str(local.value) == str(remote.value)
        assert local.value.details == remote.value.details
        with pytest.raises(SlicerBridgeError, match=r"did you mean 'echo'\?"):
            client.invoke("ecoh", timeout=WAIT)
        with pytest.raises(SlicerBridgeError, match="input image must be image, not Table"):
            client.invoke("echo", {"image": Table({"a": [1]})}, timeout=WAIT)
        # What the description allows still goes through, missing optional slots included.
        image = Image(np.zeros((1, 2, 3), np.uint8))
        assert "image_out" in client.invoke("echo", {"image": image}, timeout=WAIT).outputs
