"""`foveanet summary`: the table for a registered model, and errors a user can fix."""
import pytest

from foveanet.cli.main import main


def test_lenet5_table(capsys):
    assert main(["summary", "lenet5", "--input", "1x28x28"]) == 0
    out = capsys.readouterr().out
    assert "(5*5*1+1)*6 = 156" in out and "(5*5*6+1)*16 = 2416" in out
    assert "Total params: 61,706" in out and "117,600" in out


def test_resnet18_depth_and_classes(capsys):
    assert main(["summary", "resnet18", "--input", "1x32x32", "--num-classes", "10", "--depth", "1",
                 "--columns", "output_size,num_params"]) == 0
    out = capsys.readouterr().out
    # 1 input channel, 10 classes: 11,689,512 - 64*2*7*7 - 990*512 - 990
    assert f"Total params: {11_689_512 - 6272 - 990 * 513:,}" in out
    assert "layer1.0" not in out and "[1, 10]" in out


def test_unknown_model_lists_the_available_ones(capsys):
    assert main(["summary", "lenet6"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'lenet6'" in err and "lenet5" in err and "vgg16" in err


@pytest.mark.parametrize("argv,msg", [
    (["summary", "lenet5", "--input", "1xtwox28"], "3x224x224"),
    (["summary", "lenet5", "--columns", "flops"], "unknown columns"),
    (["summary", "lenet5", "--input", "1x4x4"], "image_size must be at least 10"),
    (["summary", "lenet5", "--input", "1x28x28", "--in-channels", "3"], "on input 1x28x28"),
    (["summary"], "name a model"),
])
def test_user_errors(capsys, argv, msg):
    assert main(argv) == 2
    assert msg in capsys.readouterr().err


def test_help_and_list(capsys):
    with pytest.raises(SystemExit) as e:
        main(["summary", "--help"])
    assert e.value.code == 0
    assert "foveanet summary vgg16 --input 3x224x224" in capsys.readouterr().out
    assert main(["summary", "--list"]) == 0
    assert "densenet121" in capsys.readouterr().out.split()
