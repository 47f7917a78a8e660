"""The JSON array writer the listing uses: exact bytes, and the collector left as found."""

from __future__ import annotations

import gc

import pytest

from pixyproxy_cli.commands import output


@pytest.mark.parametrize(
    ("pages", "expected", "count"),
    [
        ([], b"[]\n", 0),
        ([[]], b"[]\n", 0),
        ([[b"1"]], b"[\n1\n]\n", 1),
        ([[b"1", b"2"], [], [b'{"a":"\xc3\xa9"}']], b'[\n1,\n2,\n{"a":"\xc3\xa9"}\n]\n', 3),
    ],
)
def test_pages_make_one_json_array_one_element_per_line(capsysbinary, pages, expected, count):
    assert output.stream_json_pages(iter(pages)) == count
    assert capsysbinary.readouterr().out == expected


def test_the_collector_is_paused_while_pages_are_written_and_restored_after(capsysbinary):
    seen = []

    def pages():
        seen.append(gc.isenabled())
        yield [b"1"]

    assert gc.isenabled()
    output.stream_json_pages(pages())
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(capsysbinary):
    gc.disable()
    try:
        output.stream_json_pages(iter([[b"1"]]))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_comes_back_when_a_page_fails(capsysbinary):
    def pages():
        yield [b"1"]
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError, match="database gone"):
        output.stream_json_pages(pages())
    assert gc.isenabled()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),  # colours, cursor moves: ESC
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),  # an OSC sequence ended by BEL
        ("\x9b2J cleared", "\\x9b2J cleared"),  # the C1 form of CSI
        ("over\rwrite\x7f\x00", "over\\x0dwrite\\x7f\\x00"),
        ("two\nlines\tand a tab", "two\nlines\tand a tab"),  # kept by default
        ("🦊 かわいい狐 é\u200d", "🦊 かわいい狐 é\u200d"),  # printable text untouched
    ],
)
def test_control_characters_are_shown_escaped_never_written_raw(text, shown):
    assert output.printable(text) == shown


def test_what_is_kept_can_be_chosen():
    assert output.printable("a\tb\nc", keep="") == "a\\x09b\\x0ac"


def test_every_string_the_consoles_print_is_escaped(capsys):
    output.out().print("\x1b]52;c;cGF5bG9hZA==\x07 in a message", markup=False)
    output.notice("a server said \x1b[2J")

    captured = capsys.readouterr()
    assert captured.out == "\\x1b]52;c;cGF5bG9hZA==\\x07 in a message\n"
    assert captured.err == "Notice: a server said \\x1b[2J\n"


def test_an_unwritable_folder_is_named_whether_a_file_or_the_folder_was_given(
    tmp_path, monkeypatch
):
    # Root may write anywhere, so the test cannot make a folder it may not write to.
    monkeypatch.setattr(output.os, "access", lambda path, mode: False)
    target = tmp_path / "fox.png"

    with pytest.raises(output.InputValidationError) as for_a_file:
        output.check_writable(target, force=False)
    with pytest.raises(output.InputValidationError) as for_the_folder:
        output.check_writable_directory(tmp_path)

    assert for_a_file.value.message == (
        f"Cannot write {target}: the folder {tmp_path} is not writable"
    )
    assert for_the_folder.value.message == (
        f"Cannot write into {tmp_path}: the folder {tmp_path} is not writable"
    )
