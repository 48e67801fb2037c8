"""Contract (no model): settings: read from the environment once, each checked at start with a
message that names it."""
import subprocess
import sys

import pytest

import config
from tests.imagegen import ROOT


def test_the_defaults_are_those_written_in_config():
    settings = config.Settings.from_env({})
    assert (settings.PORT, settings.MODEL_PRECISION, settings.MAX_FILES) == (5000, "fp32", 16)
    assert settings.MAX_CONTENT_LENGTH == 32 * 2**20 and settings.JPEG_DRAFT is True


def test_values_are_parsed_by_their_type_and_the_old_thread_name_still_works():
    settings = config.Settings.from_env({"BATCH_SIZE": "4", "JPEG_DRAFT": "off", "EXPLAIN_EFFECT_SCALE": "0.1",
                                         "TF_INTRA_OP_THREADS": "3", "MODEL_PRECISION": "lite-int8"})
    assert (settings.BATCH_SIZE, settings.JPEG_DRAFT, settings.EXPLAIN_EFFECT_SCALE) == (4, False, 0.1)
    assert settings.MODEL_THREADS == 3 and settings.MODEL_PRECISION == "lite-int8"
    assert config.Settings.from_env({"MODEL_THREADS": "2", "TF_INTRA_OP_THREADS": "3"}).MODEL_THREADS == 2


@pytest.mark.parametrize("environ, message", [
    ({"BATCH_SIZE": "eight"}, "BATCH_SIZE must be an integer, not 'eight'"),
    ({"BATCH_SIZE": "0"}, "BATCH_SIZE must be 1 or more, not 0"),
    ({"JPEG_DRAFT": "maybe"}, "JPEG_DRAFT must be true or false, not 'maybe'"),
    ({"MODEL_PRECISION": "int4"},
     "MODEL_PRECISION must be one of fp32, bf16, lite-int8, lite-fp32, tf-fp32, not 'int4'"),
    ({"EXPLAIN_BASELINE": "noise"}, "EXPLAIN_BASELINE must be one of grey, mean, blur, grey+blur, not 'noise'"),
    ({"TF_INTRA_OP_THREADS": "0"}, "MODEL_THREADS must be 1 or more, not 0"),
    ({"MODEL_OUTPUTS": "memorability,hits"},
     "MODEL_OUTPUTS names 'hits', which is no output; known: memorability, false_alarm, not 'memorability,hits'"),
    ({"MODEL_OUTPUTS": " , "}, "MODEL_OUTPUTS names no output, not ' , '"),
])
def test_a_bad_value_is_refused_with_the_variable_named(environ, message):
    with pytest.raises(config.SettingsError) as raised:
        config.Settings.from_env(environ)
    assert str(raised.value) == message


def test_a_replacement_is_checked_too_and_unknown_names_are_refused():
    with pytest.raises(config.SettingsError, match="MAX_FILES must be 1 or more, not 0"):
        config.Settings.from_env({}).replace(MAX_FILES=0)
    with pytest.raises(config.SettingsError, match="no such setting: MAX_FILE"):
        config.Settings.from_env({}).replace(MAX_FILE=3)


def test_the_server_and_the_scorer_refuse_a_bad_value_at_start(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "MODEL_PRECISION": "int4"}
    server = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert server.returncode != 0
    assert ("error: MODEL_PRECISION must be one of fp32, bf16, lite-int8, lite-fp32, tf-fp32, not 'int4'"
            in server.stderr)
    scorer = subprocess.run([sys.executable, "-m", "score", "samples", "--out", tmp_path / "s.csv"],
                            cwd=ROOT, env={**env, "MODEL_PRECISION": "fp32", "BATCH_SIZE": "-1"},
                            capture_output=True, text=True, timeout=60)
    assert (scorer.returncode, scorer.stderr) == (2, "error: BATCH_SIZE must be 1 or more, not -1\n")
