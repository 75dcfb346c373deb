import json

import pytest

from foveanet.cli.main import main
from foveanet.train.run import RunError, load_run, read_config


def test_missing_run_dir_and_config_say_what_to_do(tmp_path):
    with pytest.raises(RunError, match="no such directory"):
        read_config(tmp_path / "nope")
    with pytest.raises(RunError, match="has no config.json"):
        read_config(tmp_path)


def test_missing_weights_lists_what_the_run_has(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model": "lenet5"}))
    (tmp_path / "last.safetensors").write_bytes(b"")
    with pytest.raises(RunError, match=r"best.safetensors not found \(the run has last.safetensors"):
        load_run(tmp_path, "best")


def test_cli_prints_run_errors_without_traceback(tmp_path, capsys):
    assert main(["show", "filters", str(tmp_path), "-o", str(tmp_path / "f.png")]) == 2
    assert "has no config.json" in capsys.readouterr().err
