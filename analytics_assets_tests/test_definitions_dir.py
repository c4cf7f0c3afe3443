"""Your own definitions live in a folder to version, outside the data directory `make clean` deletes."""

import shutil
import subprocess

from analytics_assets import settings
from analytics_assets_tests.support import REPO


def test_definitions_default_to_a_folder_make_clean_leaves_alone(tmp_path, monkeypatch):
    for name in ("ANALYTICS_DATA_DIR", "ANALYTICS_DEFINITIONS_DIR", "ANALYTICS_DATAMARTS_DIR",
                 "ANALYTICS_REPORTS_DIR", "ANALYTICS_FUNNELS_DIR"):
        monkeypatch.delenv(name, raising=False)
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO / "Makefile", project / "Makefile")
    monkeypatch.chdir(project)
    folders = [settings.datamarts_dir(), settings.reports_dir(), settings.funnels_dir()]
    assert folders == [project / "definitions" / k for k in ("datamarts", "reports", "funnels")]
    for folder in folders:
        folder.mkdir(parents=True)
        (folder / "mine.yaml").write_text("name: mine\n")
    (settings.data_dir() / "clickhouse").mkdir(parents=True)
    subprocess.run(["make", "clean"], cwd=project, check=True, capture_output=True)
    assert not settings.data_dir().exists()  # the data went
    assert all((folder / "mine.yaml").exists() for folder in folders)  # the definitions stayed
