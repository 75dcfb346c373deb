"""XML-CNN's optional dropout on the word vectors."""
import numpy as np

import foveanet
from foveanet.models.xmlcnn import XMLCNN


def _pair(p):
    foveanet.manual_seed(0)
    plain = XMLCNN(50, 7, embed_dim=6, num_filters=3, pool_chunks=2, hidden=5, dropout=0.0)
    foveanet.manual_seed(0)
    dropped = XMLCNN(50, 7, embed_dim=6, num_filters=3, pool_chunks=2, hidden=5, dropout=0.0,
                     embed_dropout=p)
    return plain, dropped


def test_same_weights_and_eval_output_as_without():
    plain, dropped = _pair(0.4)
    sd, sd2 = plain.state_dict(), dropped.state_dict()
    assert sorted(sd) == sorted(sd2) and all(np.array_equal(sd[k].numpy(), sd2[k].numpy()) for k in sd)
    ids = np.random.default_rng(0).integers(1, 50, (4, 12))
    ids[1, 6:] = 0                                  # padding still skipped exactly
    plain.eval(), dropped.eval()
    assert np.array_equal(plain(ids).data, dropped(ids).data)


def test_all_words_dropped_leaves_only_the_conv_biases():
    _, m = _pair(1.0)
    m.train()
    ids = np.random.default_rng(1).integers(1, 50, (3, 12))
    out = m(ids).data
    # every window sees zero vectors: each map is relu(bias), pooled over 2 chunks per width
    feat = np.concatenate([np.repeat(np.maximum(c.bias.data, 0), 2) for c in m.convs])
    h = np.maximum(m.bottleneck.weight.data @ feat + m.bottleneck.bias.data, 0)
    expect = m.fc.weight.data @ h + m.fc.bias.data
    assert np.allclose(out, np.broadcast_to(expect, out.shape), atol=1e-6)
