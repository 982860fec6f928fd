"""Customer-level tables (experiment, uplift, target inputs) in the encodings of real exports.

A GBK/GB18030 export with Chinese headers and values must give the same frame as its UTF-8
twin, detected or named with ``encoding=``; text that is neither UTF-8 nor GB18030 needs
``encoding=`` and the message says so.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from valuemax.cli import app
from valuemax.exceptions import InputError
from valuemax.io import read_customer_table, table_encoding


@pytest.fixture
def chinese_frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 400
    arm = np.where(np.arange(n) % 2 == 0, "对照组", "短信组")
    return pd.DataFrame({"客户编号": [f"{i:05d}" for i in range(n)], "组别": arm,
                         "城市": rng.choice(["北京", "上海", "广州"], n),
                         "购买": (rng.random(n) < np.where(arm == "短信组", 0.3, 0.2)).astype(int),
                         "消费": rng.gamma(2.0, 30.0, n).round(2)})


def _write(frame: pd.DataFrame, path, encoding: str):
    frame.to_csv(path, index=False, encoding=encoding)
    return path


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-16"])
def test_detected_encodings_read_like_utf8(tmp_path, chinese_frame, encoding):
    path = _write(chinese_frame, tmp_path / f"t_{encoding}.csv", encoding)
    plain = read_customer_table(_write(chinese_frame, tmp_path / "u.csv", "utf-8"),
                                dtype={"客户编号": "string"})
    got = read_customer_table(path, dtype={"客户编号": "string"})
    pd.testing.assert_frame_equal(got, plain)
    assert got["客户编号"].iloc[7] == "00007"  # ids read as text keep their zeros
    named = read_customer_table(path, encoding=encoding, dtype={"客户编号": "string"})
    pd.testing.assert_frame_equal(named, plain)


def test_undetectable_text_asks_for_the_encoding(tmp_path):
    path = tmp_path / "west.csv"
    path.write_bytes("name,spend\nJosé,1\nZoë,2\nRené,3\n".encode("cp1252"))
    with pytest.raises(InputError, match=r"cannot tell the text encoding of table 'west\.csv'"
                                         r".*pass encoding=.*CLI --encoding"):
        read_customer_table(path)
    assert read_customer_table(path, encoding="cp1252")["name"].tolist() == [
        "José", "Zoë", "René"]


def test_a_wrong_encoding_is_refused_with_the_byte(tmp_path, chinese_frame):
    path = _write(chinese_frame, tmp_path / "gbk.csv", "gbk")
    with pytest.raises(InputError, match=r"could not decode table 'gbk\.csv' as utf-8 at byte "
                                         r"\d+.*try encoding='gb18030'"):
        table_encoding(path, "utf-8")
    with pytest.raises(InputError, match=r"encoding='klingon' is not a known text encoding"):
        read_customer_table(path, encoding="klingon")


def test_experiment_cli_reads_a_gbk_table(cli_runner, tmp_path, chinese_frame):
    """The readout of the GBK export equals that of its UTF-8 twin, detected or named."""
    args = ["--arm", "组别", "--control", "对照组", "--metric", "购买", "--metric", "消费",
            "--id", "客户编号", "--json"]
    runs = {}
    for name, encoding, extra in (("u", "utf-8", []), ("g", "gbk", []),
                                  ("n", "gbk", ["--encoding", "GBK"])):
        path = _write(chinese_frame, tmp_path / f"{name}.csv", encoding)
        res = cli_runner.invoke(app, ["experiment", str(path), *args, *extra])
        assert res.exit_code == 0, res.output
        runs[name] = json.loads(res.stdout)
    assert runs["g"]["comparisons"] == runs["u"]["comparisons"] == runs["n"]["comparisons"]
    assert set(runs["g"]["arms"]) == {"对照组", "短信组"}
    assert runs["g"]["arm_table"] == runs["u"]["arm_table"]


def test_target_cli_reads_a_gbk_scores_file(cli_runner, tmp_path):
    frame = pd.DataFrame({"客户": ["007", "008", "009", "010"], "uplift": [0.3, 0.2, 0.1, 0.05],
                          "clv": [100.0, 80.0, 50.0, 20.0]})
    outs, recorded = {}, {}
    for name, encoding in (("u", "utf-8"), ("g", "gbk")):
        path = _write(frame, tmp_path / f"{name}.csv", encoding)
        out = tmp_path / f"out_{name}"
        res = cli_runner.invoke(app, ["target", str(path), "--id", "客户", "--value", "clv",
                                      "--margin", "0.5", "--cost-per-contact", "1",
                                      "--holdout", "0.25", "--start", "2026-05-04",
                                      "--out", str(out), "--db", str(tmp_path / f"{name}.duckdb")])
        assert res.exit_code == 0, res.output
        outs[name] = pd.read_csv(out / "assignments.csv", dtype={"customer_id": str})
        with duckdb.connect(str(tmp_path / f"{name}.duckdb"), read_only=True) as con:
            recorded[name] = json.loads(con.sql("select parameters from runs").fetchone()[0])
    pd.testing.assert_frame_equal(outs["g"], outs["u"])
    # profit = uplift x clv x 0.5 - 1: 14, 7, 1.5 and -0.5 (010 is not worth a contact)
    assert set(outs["g"]["customer_id"]) == {"007", "008", "009"}
    # the detected encoding is what the run records (GBK is read as its superset GB18030)
    assert [recorded[n]["encoding"] for n in ("u", "g")] == ["utf-8", "gb18030"]
