"""The lecture's prose, slides 10-16. ``${name}`` placeholders are filled by the facts modules;
write no number here that the code can compute (a literal '$' is written '$$')."""

S10 = """\
## 10. Why convolutions?

Take a ${wc_in} image to a ${wc_out} volume (six 5x5 filters, no padding):

| | parameters | multiply-adds |
| --- | ---: | ---: |
| fully connected, ${wc_n_in} -> ${wc_n_out} | ${wc_fc_w} weights (${wc_fc_p} with biases) | ${wc_fc_macs} |
| convolution, `${wc_conv_formula}` | ${wc_conv} | ${wc_conv_macs} |

The course says "about ${wc_fc_words}" for the FC layer (exact: ${wc_fc_w}) and **${wc_course}**
for the conv layer: `${wc_course_formula}`, i.e. 5x5 filters *ignoring the 3 input channels*.
Each filter of a layer on a 3-channel input is 5x5x3, so the exact count is
`${wc_conv_formula}`: ${wc_ratio} times fewer parameters than the FC layer, biases included
(the course's ${wc_course} would make it ${wc_course_ratio} times).

Two reasons:

- **Parameter sharing.** A feature detector (say a vertical-edge filter) useful in one part of
  the image is probably useful in another, so the same weights slide over every position.
- **Sparsity of connections.** Each output value depends on only ${wc_fan} inputs (its 5x5x3
  window), not on all ${wc_n_in}.

A third property follows: **translation equivariance**. Shift the image and a convolution's
feature maps shift with it. `foveanet.concepts.shift_experiment` measures this on a real
Fashion-MNIST image (the first test image, labelled "${sh_label}"), with a random 3x3 conv layer
and a random FC layer:

- shifting the image right by one pixel changes ${sh_changed} of its ${sh_pixels} values
  (${sh_frac}; ${sh_d2l} pixels go from dark to light at threshold 0.5, ${sh_l2d} the other way);
- the conv layer's output for the shifted image equals its shifted output on all ${sh_compared}
  interior values: max |difference| = **${sh_diff}** (compared without aligning, the maps
  differ by ${sh_conv_rel});
- the FC layer's output changes by ${sh_fc_rel}, with nothing to realign: it has to learn every
  position separately;
- shifting down by two pixels (${sh2_frac} of the values change): conv max |difference|
  ${sh2_diff} on ${sh2_compared} values, FC output change ${sh2_fc_rel}.

Pooling then adds some invariance to small shifts on top of this equivariance.

${fig_fc_vs_conv}
"""

S11 = """\
## 11. LeNet-5

LeCun et al. (1998) read handwritten digits with two conv + pooling stages and three FC layers.
In the course's drawing a 32x32x1 image goes ${le_chain} (conv 5x5, pool 2x2, conv 5x5, pool
2x2), is flattened to ${le_flat} values, then FC ${le_fc_chain}. foveanet's `models.lenet5()`
is the modern form (ReLU, max pooling) and pads the first conv by 2 so that 28x28 images give the
same 28x28x6 maps. `foveanet.summary(models.lenet5(), (1, 28, 28))`:

```
${le_table}
```

**${le_total} parameters** (the course: "about ${le_words}") and ${le_macs} multiply-adds per
image. Note the pattern: sizes shrink, channels grow, and almost all parameters sit in the FC
layers (`${le_fc1}` against `${le_c1}` for the first conv).

The 1998 paper's network (`models.lenet5(variant="1998")`: tanh-like squashing, trainable
subsampling, the sparse C3 connection table) counts

${le_1998_table}

${le_1998_total} in all (with a linear 10-class output layer in place of the paper's RBF units).
The paper's C1 ${le_c1_1998} and F6 ${le_f6_1998} are the modern network's first conv and
second FC layer counts too.
"""

S12 = """\
## 12. AlexNet

Krizhevsky, Sutskever and Hinton (2012) won ImageNet with a much bigger LeNet: ReLU, dropout,
overlapping max pooling, trained on two GPUs. In the course's drawing a 227x227x3 image goes
${ax_chain} (conv 11x11 stride 4 -> ${ax_n1}, then 3x3/2 max pools and "same" convs), flattened
to ${ax_flat} values, then FC ${ax_fc_chain} classes.

The course says "about ${ax_words} parameters". foveanet's `models.alexnet()` is torchvision's
single-tower variant (${ax_filters} filters) so that its published weights load; it has
exactly **${ax_total}**:

${ax_table}

The 2012 paper's layer sizes (${ax_paper_filters} filters, with conv2, conv4 and conv5 split into
2 groups, one per GPU) give, with the same formulas:

${ax_paper_table}

= ${ax_paper_total} (${ax_diff} fewer than the torchvision variant). Either way, the first FC
layer alone holds more than half of the parameters.
"""

S13 = """\
## 13. VGG-16

Simonyan and Zisserman (2014) used one building block everywhere: 3x3 convs, stride 1, "same"
padding, and 2x2 max pools with stride 2. The number of filters doubles ${vgg_filters}
while the size halves: ${vgg_chain}, flattened to ${vgg_flat} values, then FC
${vgg_fc_chain}. The 16 counts the layers with weights, read from the model: ${vgg_n_conv} conv +
${vgg_n_fc} FC = ${vgg_depth}.

The course says "about ${vgg_words} parameters"; `models.vgg16()` has exactly **${vgg_total}**:
${vgg_conv} in the conv layers and ${vgg_fc} (${vgg_fc_share}) in the FC layers, the first one
alone `${vgg_fc1}`.

Stacked small filters see far: each 3x3 conv widens the receptive field by 2 x (the jump), each
pool by 1 x (the jump) and doubles the jump. `foveanet.concepts.receptive_field` gives, after
each pool, ${vgg_rf_pools} pixels: a unit of the last conv layer sees **${vgg_rf_conv}x${vgg_rf_conv}**
pixels of the 224x224 input and one after the last pool **${vgg_rf_pool}x${vgg_rf_pool}**
(neighbours ${vgg_jump} pixels apart). Receptive fields depend only on the layers, not on the
weights or the image size.
"""

S14 = """\
## 14. The many more

Every network below is in `foveanet.models` with torchvision's layer names (so its published
weights load), counted for 1000 classes:

${mm_table}

"conv + linear layers" counts the layers with weights (ResNet shortcut projections left out); it
reproduces the depth in the names that give one, except GoogLeNet, whose count includes parallel branches
(the paper's 22 is its longest path). GoogLeNet's two auxiliary classifiers
(`aux_logits=True`) bring it to ${mm_googlenet_aux}.

- **ResNets** add the input of each block to its output, `a = relu(F(x) + x)`, so a block only
  has to learn a correction and very deep networks still train. ResNet-50's bottleneck block
  (1x1 down to 64 channels, 3x3, 1x1 back to 256) has ${rb_block} weights where two plain 3x3
  convs at 256 channels would have ${rb_plain}.
- **1x1 convolutions** mix channels at each pixel. The course's Inception example: a 5x5 "same"
  conv from 28x28x192 to 28x28x32 costs ${bn_direct} multiply-adds (the course: "${bn_direct_words}");
  first reducing to 16 channels with a 1x1 conv costs ${bn_reduce} + ${bn_then} = ${bn_total}
  ("${bn_total_words}"), ${bn_ratio} times less.
- **Inception (GoogLeNet)** runs 1x1, 3x3, 5x5 convs and pooling side by side and concatenates
  their maps, letting the network pick the filter size.
- **DenseNet** concatenates every earlier map of a block to each layer's input.
- **ResNeXt** splits the 3x3 conv of a bottleneck into 32 groups: at 128 channels
  `${rx_formula}` weights instead of ${rx_dense}.
- **MobileNets and EfficientNet** take groups to the end: a depthwise 3x3 conv (one filter per
  channel, `${dw_formula}`) then a 1x1 conv mixing the channels (`${pw_formula}`), inside
  inverted residual blocks with squeeze-excitation gates.
"""

S15 = """\
## 15. Applications

**Image classification.** One label per image. Train a CNN into a run directory, evaluate it,
look at what it learned, and compare it with the hand-crafted baselines of slide 1:

    ${app_train}
    ${app_eval}
    ${app_show}
    ${app_baseline}

The run directory holds `config.json`, `metrics.json` (`test_accuracy`), the weights and
learning-curve pictures. `python -m foveanet.docs.build --run RUN_DIR` rebuilds this lecture with
that run's accuracy and learned filters.

**Segmentation.** One label per *pixel*. A U-Net encodes the image like a classifier, then
decodes back to full resolution (transposed convolutions or upsampling) with skip connections
from the encoder, so every pixel gets a class. foveanet's segmentation task pastes several
Fashion-MNIST items on one canvas and labels each pixel with its item's class (or background):

    ${app_segment}
    ${app_segment_eval}

**Text.** Convolutions work on any grid, including a sentence as a sequence of word vectors:
1-d filters of widths 3-5 act as n-gram detectors and max pooling over time keeps the strongest
match (Kim 2014; XML-CNN for many labels):

    ${app_text_data}
    ${app_text}
"""

S16 = """\
## 16. Backpropagation through convolution and pooling

foveanet has no autograd library underneath: every backward is written by hand. For a
convolution (stride 1, no padding) `Y = X (*) W + b`, with `dY` the gradient arriving from above:

- **dX = full correlation of dY with the flipped kernel**: pad dY by f - 1 on every side,
  correlate it with W rotated by 180 degrees (input and output channels swapped). Each input pixel
  collects the gradient of every output whose window covered it.
- **dW = correlation of X with dY**: dW[o, c, u, v] = sum over n, i, j of
  X[n, c, i + u, j + v] * dY[n, o, i, j], the input patches weighted by the output gradients.
- **db = sum of dY** over the batch and all positions, per output channel.

Pooling has no parameters, only dX:

- **max pooling** routes each window's gradient to the input that was the maximum (the others
  get 0); with overlapping windows an input collects from every window it won;
- **average pooling** spreads each window's gradient evenly, dY / f^2 to each input of the window.

Checked in the build (float64): conv input ${bp_x}, weight ${bp_w}, dY ${bp_y}. foveanet's
backward is compared with the formulas above (evaluated with foveanet's forward ops), with
central differences (L(x + eps) - L(x - eps)) / (2 eps), and with PyTorch. Shown: the max
absolute difference.

${bp_conv_table}

Forgetting the flip in dX gives a max difference of ${bp_noflip}. Pooling, on the 4x4 input
(values times 8)

```
${bp_pool_x}
```

${bp_pool_table}

Result: ${bp_verdict}. That is not luck: the inputs are multiples of ${bp_denom} and
eps = ${bp_eps}, so every sum is exact in float64 and the numeric derivative of these
(piecewise) linear ops is exact; with arbitrary inputs the differences would be float64 rounding
errors magnified by 1/eps. `foveanet.gradcheck` on random normal float64 inputs (conv with stride 2 and padding 1;
3x3 max and average pooling with stride 2 and padding 1): conv ${bp_gc_conv}, max pooling
${bp_gc_max}, average pooling ${bp_gc_avg}.
"""

FIGURES = """\
## Pictures of a network

${fig_learned}

${fig_feature_maps}

${fig_receptive_field}
"""

SECTIONS = (S10, S11, S12, S13, S14, S15, S16, FIGURES)
