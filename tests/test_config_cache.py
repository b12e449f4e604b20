"""The parsed pipeline config is cached as JSON keyed by the YAML's sha256 (DAG parse reads it)."""

from __future__ import annotations

import datetime as dt

import pytest

from complaints import config

YAML = "timezone: Asia/Bangkok\nchannels:\n  mis: {name_th: ระบบ MIS, adapter: mis}\n".encode()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(config.CACHE_DIR_ENV, str(folder))
    return folder


def _no_yaml(monkeypatch):
    def refuse(source: bytes):
        raise AssertionError("the YAML was parsed although the cache holds it")

    monkeypatch.setattr(config, "parse_yaml", refuse)


def test_a_parsed_config_is_read_back_from_the_cache_without_parsing_the_yaml(cache, monkeypatch):
    parsed = config.parse_yaml(YAML)
    assert config.cached_document(YAML) == parsed
    assert len(list(cache.glob("config-*.json"))) == 1
    _no_yaml(monkeypatch)
    assert config.cached_document(YAML) == parsed
    assert parsed["channels"]["mis"]["name_th"] == "ระบบ MIS"


def test_an_edited_config_is_parsed_again_not_served_from_the_old_cache(cache):
    config.cached_document(YAML)
    edited = config.cached_document(YAML.replace(b"Asia/Bangkok", b"Asia/Chiang_Mai"))
    assert edited["timezone"] == "Asia/Chiang_Mai"
    assert len(list(cache.glob("config-*.json"))) == 2


def test_a_cache_file_that_does_not_record_the_yamls_hash_is_ignored(cache, monkeypatch):
    config.cached_document(YAML)
    (path,) = cache.glob("config-*.json")
    path.write_text('{"format": 1, "sha256": "0000", "document": {"timezone": "Europe/London"}}')
    assert config.cached_document(YAML)["timezone"] == "Asia/Bangkok"
    path.write_text("not json")
    assert config.cached_document(YAML)["timezone"] == "Asia/Bangkok"


def test_a_config_json_cannot_hold_exactly_is_not_cached_and_keeps_its_yaml_types(cache):
    source = b"earliest_received_date: 2018-10-01\n"
    assert config.cached_document(source) == {"earliest_received_date": dt.date(2018, 10, 1)}
    assert list(cache.glob("config-*.json")) == []
    assert config.cached_document(source)["earliest_received_date"] == dt.date(2018, 10, 1)


def test_an_unwritable_cache_folder_only_means_the_yaml_is_parsed_each_time(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(config.CACHE_DIR_ENV, str(blocker / "cache"))
    assert config.cached_document(YAML)["timezone"] == "Asia/Bangkok"


def test_the_cache_keeps_a_bounded_number_of_configs(cache, monkeypatch):
    monkeypatch.setattr(config, "CACHE_ENTRIES", 3)
    for n in range(6):
        config.cached_document(YAML + f"n: {n}\n".encode())
    assert len(list(cache.glob("config-*.json"))) == 3
    assert list(cache.glob(".config-*")) == []


def test_the_pipeline_config_from_the_cache_equals_the_yaml_parsed_directly(cache):
    source = config.PIPELINE_CONFIG.read_bytes()
    config.cached_document(source)
    assert config.cached_document(source) == config.parse_yaml(source)


def test_without_a_home_folder_or_cache_setting_the_config_is_parsed_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv(config.CACHE_DIR_ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(config.os.path, "expanduser", lambda path: path)
    monkeypatch.chdir(tmp_path)
    assert config.cache_dir() is None
    assert config.cached_document(YAML)["timezone"] == "Asia/Bangkok"
    assert list(tmp_path.iterdir()) == []
