"""summary(): totals vs sum(numel) and the published counts, formulas and mult-adds by hand."""
import pytest

import foveanet
from foveanet import models, nn
from foveanet.concepts import summary
from tests.concepts.test_receptive_field import VGG16_INDEX, VGG16_RF, torch_resnet18


def numel(model):
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def lenet():
    return summary(models.get_model("lenet5"), (1, 28, 28))


def test_lenet5_counts_and_formulas(lenet):
    assert lenet.total_params == 61_706 == lenet.trainable_params
    assert lenet.non_trainable_params == 0
    assert lenet["features.0"].formula == "(5*5*1+1)*6 = 156"
    assert lenet["features.3"].formula == "(5*5*6+1)*16 = 2416"
    assert lenet["classifier.0"].formula == "(400+1)*120 = 48120"
    assert [r.params for r in lenet.layers if r.params] == [156, 2416, 48120, 10164, 850]
    assert lenet["features.0"].output_shape == (1, 6, 28, 28)
    assert lenet["features.5"].output_shape == (1, 16, 5, 5)


def test_lenet5_mult_adds_by_hand(lenet):
    conv1 = 28 * 28 * 6 * (5 * 5 * 1)           # 117,600
    conv2 = 10 * 10 * 16 * (5 * 5 * 6)          # 240,000
    fcs = 400 * 120 + 120 * 84 + 84 * 10
    assert lenet["features.0"].mult_adds == conv1 == 117_600
    assert lenet["features.3"].mult_adds == conv2
    assert lenet["features.2"].mult_adds == 0                   # pooling: no dot products
    assert lenet.total_mult_adds == conv1 + conv2 + fcs
    assert lenet["features"].mult_adds == conv1 + conv2         # a container sums its layers


def test_lenet5_table_and_memory(lenet):
    text = str(lenet)
    for s in ("(5*5*1+1)*6 = 156", "(5*5*6+1)*16 = 2416", "Total params: 61,706", "117,600"):
        assert s in text
    assert lenet.param_bytes == 61_706 * 4
    # float32 outputs of the 13 layers, one image: 3 maps of 6x28x28, 1 of 6x14x14, ...
    per_layer = [6 * 28 * 28] * 2 + [6 * 14 * 14] + [16 * 10 * 10] * 2 + [16 * 5 * 5] + [120] * 2 + [84] * 2 + [10]
    assert lenet.activation_bytes == 4 * sum(per_layer)
    assert lenet["features.3"].rf == 14 and lenet["features.5"].jump == 4
    # rows: the root, then each container before the layers it ran
    assert [r.name for r in lenet.rows[:3]] == ["", "features", "features.0"]


def test_lenet1998_paper_counts():
    m = models.get_model("lenet5", variant="1998")
    s = summary(m, (1, 28, 28))                 # padded to 32x32 inside forward
    assert s.total_params == numel(m) == 156 + 12 + 1516 + 32 + 48120 + 10164 + 850
    assert s["features.c1"].formula == "(5*5*1+1)*6 = 156"
    assert s["features.c5"].formula == "(5*5*16+1)*120 = 48120"
    # S2 states no kernel: its 2x2/2 is inferred from 28 -> 14; C3 is 5x5 on the 2-jump map
    assert (s["features.s2"].rf, s["features.s2"].jump) == (6, 2)
    assert s["features.c3"].rf == 14 and "inferred" in s["features.s2"].rf_note


class TwiceLinear(nn.Module):
    """One Linear applied twice: its 12 parameters exist once."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.out = nn.Linear(3, 2)
        self.out.weight = nn.Parameter(foveanet.zeros(2, 3))

    def forward(self, x):
        return self.out(self.fc(self.fc(x)))


def test_shared_parameters_count_once():
    m = TwiceLinear()
    s = summary(m, (3,))
    calls = [r for r in s.rows if r.name == "fc"]
    assert len(calls) == 2
    assert (calls[0].params, calls[0].shared) == (12, False)
    assert (calls[1].params, calls[1].shared) == (0, True)
    assert s.total_params == 12 + 8 == numel(m)
    assert s.total_mult_adds == 9 + 9 + 6                       # each call computes
    assert "(shared)" in str(s)


def test_frozen_parameters_are_non_trainable():
    m = models.get_model("lenet5")
    for p in m.features.parameters():
        p.requires_grad = False
    s = summary(m, (1, 28, 28))
    assert s.non_trainable_params == 156 + 2416
    assert s.trainable_params == 61_706 - 2572
    assert s["features.0"].trainable is False
    # the dry run restores what it switched off
    assert [p.requires_grad for p in m.parameters()] == [False] * 4 + [True] * 6


def test_dry_run_leaves_the_model_as_it_was():
    m = models.get_model("resnet18", num_classes=10)
    m.train()
    before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    summary(m, (3, 32, 32))
    assert m.training and all(mod.training for mod in m.modules())
    after = m.state_dict()
    assert all((before[k] == after[k].numpy()).all() for k in before)   # BN stats untouched


@pytest.fixture(scope="module")
def vgg16():
    return summary(models.get_model("vgg16"), (3, 32, 32), depth=2)


def test_vgg16_counts_and_receptive_field(vgg16):
    assert vgg16.total_params == 138_357_544
    assert vgg16["features.0"].formula == "(3*3*3+1)*64 = 1792"
    assert vgg16["classifier.0"].formula == "(25088+1)*4096 = 102764544"
    for name, (r, j) in VGG16_RF.items():
        row = vgg16[f"features.{VGG16_INDEX[name]}"]
        assert (row.rf, row.jump) == (r, j), name
    # conv1_1 at 32x32: 32*32*64*(3*3*3)
    assert vgg16["features.0"].mult_adds == 32 * 32 * 64 * 27


@pytest.mark.parametrize("name,size,count", [
    ("resnet18", (3, 32, 32), 11_689_512),
    ("resnet50", (3, 32, 32), 25_557_032),
    ("googlenet", (3, 32, 32), 6_624_904),
    ("densenet121", (3, 32, 32), 7_978_856),
    ("alexnet", (3, 64, 64), 61_100_840),
])
def test_known_counts(name, size, count):
    m = models.get_model(name)
    s = summary(m, size, depth=1)
    assert s.total_params == numel(m) == count
    convs = [r for r in s.layers if r.formula and r.type == "Conv2d"]
    assert convs and all(int(r.formula.rsplit(" ", 1)[1]) == r.params for r in convs)


def test_resnet18_rf_matches_the_torch_model():
    ours = summary(models.get_model("resnet18"), (3, 64, 64))
    theirs = summary(torch_resnet18(), (3, 64, 64))
    assert ours.total_params == theirs.total_params == 11_689_512
    assert ours.total_mult_adds == theirs.total_mult_adds
    assert [(r.name, r.rf, r.jump) for r in ours.layers] == [(r.name, r.rf, r.jump) for r in theirs.layers]
    assert ours["layer4.1.conv2"].rf == 435


def test_googlenet_aux_heads_uncalled_but_counted():
    m = models.get_model("googlenet", aux_logits=True)
    s = summary(m, (3, 64, 64), depth=1)
    assert s.total_params == numel(m)
    assert s.uncalled == ["aux1", "aux2"] and "aux1, aux2" in str(s)
    # a container shows its output's field: the widest branch. After maxpool2 (27, j8), the
    # 1x1 -> 3x3 branches and the 3x3 pool -> 1x1 branch add 2*8 each
    assert (s["maxpool2"].rf, s["maxpool2"].jump) == (27, 8)
    assert (s["inception3a"].rf, s["inception3a"].jump) == (43, 8)


def test_grouped_conv_formula_and_mult_adds():
    m = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.Conv2d(8, 4, 1, bias=False))
    s = summary(m, (8, 5, 5))
    assert s["0"].formula == "(3*3*8/8+1)*8 = 80"
    assert s["0"].mult_adds == 5 * 5 * 8 * 9
    assert s["1"].formula == "1*1*8*4 = 32"
    assert s.total_params == 112


def test_depth_and_columns():
    m = models.get_model("resnet18", num_classes=10)
    s1 = summary(m, (3, 32, 32), depth=1, col_names=("output_size", "num_params"))
    lines = str(s1).splitlines()
    assert any(line.startswith("layer1 ") and "147,968" in line for line in lines)
    assert not any("layer1.0" in line for line in lines)
    assert "Formula" not in lines[1]
    with pytest.raises(ValueError, match="unknown columns"):
        summary(m, (3, 32, 32), col_names=("flops",))


def test_without_receptive_field_runs_under_no_grad():
    s = summary(models.get_model("lenet5"), (1, 28, 28), receptive_field=False)
    assert s.total_params == 61_706 and s["features.0"].rf is None


def test_transposed_and_1d_convs():
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.MaxPool2d(2), nn.ConvTranspose2d(8, 4, 2, stride=2))
    s = summary(m, (3, 16, 16))
    up = s["2"]
    # weight (8, 4, 2, 2) + 4 biases: per output channel 2*2*8 weights and a bias
    assert up.formula == "(2*2*8+1)*4 = 132" and up.params == 132
    assert up.mult_adds == 8 * 8 * 8 * (2 * 2 * 4)          # every input value meets k*k*out_c weights
    assert up.output_shape == (1, 4, 16, 16)
    assert (up.rf, up.jump) == (4, 1)                          # k = s = 2: no overlap, jump halves
    t = nn.Sequential(nn.Conv1d(16, 8, 3), nn.ReLU(), nn.AdaptiveMaxPool1d(1), nn.Flatten(), nn.Linear(8, 2))
    s = summary(t, (16, 20))
    assert s["0"].formula == "(3*16+1)*8 = 392" and s["0"].mult_adds == 18 * 8 * 3 * 16
    assert s["2"].rf == 3 + 17 and s.total_params == 392 + 18
