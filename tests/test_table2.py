"""The Table 2 runner: every domain of a source, the paper's rows beside ours, bad rows."""

import json

from experiments.table2 import PAPER, YOUTUBE_DOMAINS, main


def test_quick_table_over_every_domain(tmp_path, capsys):
    argv = [
        "--quick",
        "--rows=csum",
        f"--out={tmp_path}",
        "--config.train.epochs=1",
        f"--config.data.synthetic_dir={tmp_path / 'data'}",
        "--config.train.progress=false",
        "--config.highlights.synthetic_overrides.videos_per_domain=6",
        "--config.highlights.synthetic_overrides.max_clips=40",
    ]
    assert main(argv) == 0
    result = json.loads((tmp_path / "table2_youtube.json").read_text())
    assert list(result["rows"]) == ["csum"] and set(result["rows"]["csum"]) == set(YOUTUBE_DOMAINS)
    for domain in YOUTUBE_DOMAINS:  # each cell is its run's own number
        run = json.loads((tmp_path / "table2_youtube" / domain / "results_csum.json").read_text())
        assert result["rows"]["csum"][domain] == run["ap"]
        assert result["random"][domain] == run["random_ap"]
        assert result["contrast"][domain] == run["contrast_ap"]  # the input alone
    table = (tmp_path / "table2_youtube.md").read_text()
    assert (
        "| CSUM UMT | ours | no | no | 60.9 | 70.2 | 73.8 | 63.2 | 70.0 | 71.4 | 68.3 | csum |"
        in table
    )
    # header, random, contrast alone, csum, what training adds; the paper's header and rows
    assert "| contrast alone (no training) | no | no |" in table
    assert "| csum: training adds (csum minus contrast alone) |" in table
    assert len([line for line in table.splitlines() if line.startswith("| ")]) == 5 + 1 + len(PAPER)
    assert table in capsys.readouterr().out


def test_bad_rows_are_one_line(tmp_path, capsys):
    assert main(["--rows=nope", f"--out={tmp_path}"]) == 2
    assert "unknown ['nope']" in capsys.readouterr().err
    assert main(["--source=tvsum", "--rows=csum_audio", f"--out={tmp_path}"]) == 2
    assert "no audio stream" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
