"""The configuration: cstool.yaml validation, precedence and sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from cstool.config import Config, ExportConfig, default_yaml, env_name, resolve
from cstool.errors import InputError
from cstool.workspace import Workspace, open_workspace


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cstool.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _setting(resolved, key):  # type: ignore[no-untyped-def]
    (s,) = [s for s in resolved.settings if s.key == key]
    return s


def _error(e: InputError) -> str:
    return f"{e}\nhint: {e.hint}"


def test_defaults_without_a_file() -> None:
    """With no cstool.yaml every setting is its default and says so."""
    r = resolve(None, env={})
    assert r.config == Config()
    assert _setting(r, "metrics.depth_window_days").value == 7
    assert {s.source for s in r.settings} == {"default"}


def test_default_yaml_is_valid_and_equals_the_defaults(tmp_path: Path) -> None:
    """The commented file that init writes validates and changes nothing but the company."""
    r = resolve(_yaml(tmp_path, default_yaml("Globex")), env={})
    assert r.config.model_dump(exclude={"exports"}) == Config(company="Globex").model_dump(
        exclude={"exports"}
    )
    assert r.config.export("accounts") == ExportConfig()
    assert _setting(r, "company").source == "cstool.yaml"


@pytest.mark.parametrize("company", ["No", "yes", "Acme: Inc", "#1 Co", "O'Reilly", 'Zoë "Z" \\'])
def test_default_yaml_keeps_any_company_name(tmp_path: Path, company: str) -> None:
    """A company name that YAML would read as a boolean, comment or mapping stays text."""
    assert resolve(_yaml(tmp_path, default_yaml(company)), env={}).config.company == company


def test_file_value_and_source(tmp_path: Path) -> None:
    """A value from the file wins over the default and names the file as its source."""
    r = resolve(_yaml(tmp_path, "version: 1\nmetrics:\n  depth_window_days: 14\n"), env={})
    s = _setting(r, "metrics.depth_window_days")
    assert (s.value, s.source) == (14, "cstool.yaml")
    assert _setting(r, "metrics.breadth_window_days").source == "default"


def test_env_overrides_file(tmp_path: Path) -> None:
    """CSTOOL_METRICS_DEPTH_WINDOW_DAYS wins over the file and is named as the source."""
    path = _yaml(tmp_path, "metrics:\n  depth_window_days: 14\n")
    r = resolve(path, env={"CSTOOL_METRICS_DEPTH_WINDOW_DAYS": "28"})
    s = _setting(r, "metrics.depth_window_days")
    assert (s.value, s.source) == (28, "env CSTOOL_METRICS_DEPTH_WINDOW_DAYS")
    assert r.config.metrics.depth_window_days == 28


def test_flag_overrides_env(tmp_path: Path) -> None:
    """A flag wins over the environment."""
    r = resolve(
        _yaml(tmp_path, "version: 1\n"),
        env={"CSTOOL_METRICS_DEPTH_WINDOW_DAYS": "28"},
        flags={"metrics.depth_window_days": 3},
    )
    s = _setting(r, "metrics.depth_window_days")
    assert (s.value, s.source) == (3, "flag")


def test_env_name() -> None:
    """A dotted key becomes an upper-case CSTOOL_ variable."""
    assert env_name("metrics.depth_window_days") == "CSTOOL_METRICS_DEPTH_WINDOW_DAYS"


@pytest.mark.parametrize(
    ("var", "raw", "key", "value"),
    [
        ("CSTOOL_COMPANY", "NO", "company", "NO"),
        ("CSTOOL_COMPANY", "yes", "company", "yes"),
        ("CSTOOL_SENDER_NAME", "2024", "sender.name", "2024"),
        ("CSTOOL_SENDER_REPLY_TO", "null", "sender.reply_to", "null"),
        ("CSTOOL_METRICS_COMPOSITE_ENABLED", "yes", "metrics.composite.enabled", True),
        ("CSTOOL_SENDING_SMTP_PORT", "2525", "sending.smtp_port", 2525),
        ("CSTOOL_METRICS_FEATURES", "[reports, alerts]", "metrics.features", ["reports", "alerts"]),
        ("CSTOOL_METRICS_FEATURE_WEIGHTS", "{flows: 2}", "metrics.feature_weights.flows", 2.0),
    ],
)
def test_env_values_keep_text_settings_verbatim(
    var: str, raw: str, key: str, value: object
) -> None:
    """Text settings take the variable as written; others are read as YAML scalars."""
    s = _setting(resolve(None, env={var: raw}), key)
    assert s.value == value
    assert type(s.value) is type(value)
    assert s.source == f"env {var}"


def test_unknown_key_names_file_path_and_line(tmp_path: Path) -> None:
    """An unknown key is rejected with the file, its dotted path and its line."""
    path = _yaml(tmp_path, "version: 1\nmetrics:\n  depth_window_days: 7\n  bogus: 3\n")
    with pytest.raises(InputError) as e:
        resolve(path, env={})
    assert str(e.value) == "cstool.yaml: line 4: metrics.bogus: unknown key"
    assert e.value.exit_code == 1


def test_bad_value_names_path_and_line(tmp_path: Path) -> None:
    """A value of the wrong type is rejected with its dotted path and line."""
    path = _yaml(tmp_path, "version: 1\nsending:\n  smtp_port: 70000\n")
    with pytest.raises(InputError) as e:
        resolve(path, env={})
    assert str(e.value).startswith("cstool.yaml: line 3: sending.smtp_port: ")
    assert "65535" in str(e.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    """YAML that does not parse is reported with the line of the problem."""
    path = _yaml(tmp_path, "version: 1\nmetrics:\n  depth_window_days: 7\n bad: 3\ncompany: x\n")
    with pytest.raises(InputError) as e:
        resolve(path, env={})
    assert str(e.value).startswith("cstool.yaml: line 4: not valid YAML: ")
    assert "YAML syntax" in (e.value.hint or "")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    """A YAML list at the top level is rejected."""
    with pytest.raises(InputError) as e:
        resolve(_yaml(tmp_path, "- a\n- b\n"), env={})
    assert str(e.value) == "cstool.yaml: line 1: the top level must be a mapping of settings"


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    """An empty cstool.yaml is valid and means every default."""
    assert resolve(_yaml(tmp_path, ""), env={}).config == Config()


def test_bad_env_value_names_the_variable(tmp_path: Path) -> None:
    """An invalid value from the environment names the variable, not the file."""
    with pytest.raises(InputError) as e:
        resolve(_yaml(tmp_path, "version: 1\n"), env={"CSTOOL_METRICS_DEPTH_WINDOW_DAYS": "999"})
    assert str(e.value).startswith(
        "environment variable CSTOOL_METRICS_DEPTH_WINDOW_DAYS: metrics.depth_window_days: "
    )
    assert e.value.hint == "fix or unset CSTOOL_METRICS_DEPTH_WINDOW_DAYS"


def test_column_mapping_to_unknown_column_is_rejected(tmp_path: Path) -> None:
    """Mapping a header to a column the kind does not have names the key path and line."""
    path = _yaml(
        tmp_path,
        "version: 1\nexports:\n  accounts:\n    columns:\n      Account ID: acct\n",
    )
    with pytest.raises(InputError) as e:
        resolve(path, env={})
    assert str(e.value) == (
        "cstool.yaml: line 5: exports.accounts.columns.Account ID: "
        "'acct' is not a column of accounts"
    )
    assert "account_id" in (e.value.hint or "")


def test_unknown_export_kind_is_rejected(tmp_path: Path) -> None:
    """A misspelt export kind under exports is rejected with its line."""
    path = _yaml(tmp_path, "version: 1\nexports:\n  acounts:\n    columns: {}\n")
    with pytest.raises(InputError) as e:
        resolve(path, env={})
    assert str(e.value) == "cstool.yaml: line 3: exports.acounts: unknown export kind"
    assert "accounts" in (e.value.hint or "")


def test_date_format_for_a_non_date_column_is_rejected(tmp_path: Path) -> None:
    """A date format for a column that is not a date of the kind is rejected."""
    path = _yaml(
        tmp_path, "version: 1\nexports:\n  accounts:\n    date_formats:\n      name: '%Y'\n"
    )
    with pytest.raises(InputError) as e:
        resolve(path, env={})
    assert str(e.value) == (
        "cstool.yaml: line 5: exports.accounts.date_formats.name: "
        "'name' is not a date column of accounts"
    )
    assert "renewal_date" in (e.value.hint or "")


def test_valid_export_settings_are_kept(tmp_path: Path) -> None:
    """Header renames, date formats and encoding are read into the kind's settings."""
    path = _yaml(
        tmp_path,
        "exports:\n  accounts:\n    columns: {'Account ID': account_id}\n"
        "    date_formats: {renewal_date: '%m/%d/%Y'}\n    encoding: cp1252\n",
    )
    export = resolve(path, env={}).config.export("accounts")
    assert export.columns == {"Account ID": "account_id"}
    assert export.date_formats == {"renewal_date": "%m/%d/%Y"}
    assert export.encoding == "cp1252"
    assert resolve(path, env={}).config.export("users").columns == {}


def test_a_key_given_twice_is_rejected_with_its_line(ws: Workspace) -> None:
    """YAML would keep the last of two equal keys; cstool.yaml refuses them instead."""
    ws.config_path.write_text("version: 1\ncompany: A\ncompany: B\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        open_workspace(ws.root)
    assert str(e.value) == "cstool.yaml: line 3: not valid YAML: the key 'company' is given twice"


def test_a_folder_named_cstool_yaml_is_not_a_file(tmp_path: Path) -> None:
    """A folder where cstool.yaml should be is reported as a folder, not a file."""
    (tmp_path / "cstool.yaml").mkdir()
    with pytest.raises(InputError) as e:
        resolve(tmp_path / "cstool.yaml", env={})
    assert str(e.value) == "cstool.yaml is a folder, not a file"
