import os

from PIL import Image

from spjax.cli import main


def test_prepare_and_show_scenes(tmp_path, capsys):
    args = ["--data-dir", str(tmp_path), "--config", "n_train=4", "n_val=1", "n_test=1", "frames=6"]
    assert main(["data", "prepare", "spjax_scenes", *args]) == 0
    out = capsys.readouterr().out
    assert "prepared spjax_scenes/" in out and "tfds.data_source" in out
    png, gif = tmp_path / "s.png", tmp_path / "s.gif"
    assert main(["data", "show", "spjax_scenes", *args, "--out", str(png), "-n", "3"]) == 0
    assert main(["data", "show", "spjax_scenes", *args, "--out", str(gif), "-n", "2"]) == 0
    assert Image.open(png).size[0] > Image.open(png).size[1]  # 3 rows of 6 frames
    assert Image.open(gif).n_frames == 6
    assert main(["data", "prepare", "spjax_scenes", *args]) == 2  # already prepared
    assert "already prepared" in capsys.readouterr().err


def test_prepare_and_show_faces(tmp_path):
    args = [
        "--data-dir",
        str(tmp_path),
        "--config",
        "n_identities=2",
        "train_per_identity=4",
        "size=64",
    ]
    assert main(["data", "prepare", "spjax_faces", *args]) == 0
    assert (
        os.path.isdir(tmp_path / "spjax_faces" / "r64" / "1.0.0") is False
    )  # overrides get their own config name
    assert main(["data", "show", "spjax_faces", *args, "--out", str(tmp_path / "f.png")]) == 0
    assert Image.open(tmp_path / "f.png").size == (8 * 65 * 4 + 4, 65 * 4 + 4)


def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys):
    assert (
        main(["data", "prepare", "spjax_faces", "--data-dir", str(tmp_path), "--config", "bogus=1"])
        == 2
    )
    err = capsys.readouterr().err
    assert "unknown key 'bogus'" in err and err.count("\n") == 1
    assert (
        main(["data", "prepare", "spjax_faces", "--data-dir", str(tmp_path), "--config", "size"])
        == 2
    )
    assert "KEY=VALUE" in capsys.readouterr().err
    assert (
        main(
            [
                "data",
                "show",
                "spjax_faces",
                "--data-dir",
                str(tmp_path),
                "--out",
                str(tmp_path / "x.png"),
            ]
        )
        == 2
    )
    assert "not prepared" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "x.png")
