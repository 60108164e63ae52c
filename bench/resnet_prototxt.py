"""Print a bottleneck ResNet deploy prototxt in the layout of
tests/data/arch/resnet50_deploy.prototxt (Kaiming He's release).

usage: resnet_prototxt.py DEPTH      (50, 101 or 152)

ResNet-101 and -152 are ResNet-50 with more bottleneck blocks per stage
(3/4/23/3 and 3/8/36/3); their blocks after the first are named b1, b2, ...
as in the released deploy files.  `resnet_prototxt.py 50` prints
resnet50_deploy.prototxt byte for byte (bench/optimize_speed.sh checks it).
"""
import sys

BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


def layer(out, bottoms, top, name, typ, param=None):
    out.append("layer {")
    for b in bottoms:
        out.append('\tbottom: "%s"' % b)
    out.append('\ttop: "%s"' % top)
    out.append('\tname: "%s"' % name)
    out.append('\ttype: "%s"' % typ)
    if param:
        out.append("\t%s {" % param[0])
        for k, v in param[1]:
            out.append("\t\t%s: %s" % (k, v))
        out.append("\t}")
    out.append("}")
    out.append("")


def conv_bn(out, bottom, top, suffix, nout, k, pad, stride, bias, relu):
    p = [("num_output", nout), ("kernel_size", k), ("pad", pad), ("stride", stride)]
    if not bias:
        p.append(("bias_term", "false"))
    layer(out, [bottom], top, top, "Convolution", ("convolution_param", p))
    layer(out, [top], top, "bn" + suffix, "BatchNorm",
          ("batch_norm_param", [("use_global_stats", "true")]))
    layer(out, [top], top, "scale" + suffix, "Scale", ("scale_param", [("bias_term", "true")]))
    if relu:
        layer(out, [top], top, top + "_relu", "ReLU")


def resnet(depth):
    out = ['name: "ResNet-%d"' % depth, 'input: "data"', "input_dim: 1", "input_dim: 3",
           "input_dim: 224", "input_dim: 224", ""]
    # conv1 has a bias and names its BatchNorm/Scale apart from the blocks'.
    layer(out, ["data"], "conv1", "conv1", "Convolution",
          ("convolution_param", [("num_output", 64), ("kernel_size", 7), ("pad", 3), ("stride", 2)]))
    layer(out, ["conv1"], "conv1", "bn_conv1", "BatchNorm",
          ("batch_norm_param", [("use_global_stats", "true")]))
    layer(out, ["conv1"], "conv1", "scale_conv1", "Scale", ("scale_param", [("bias_term", "true")]))
    layer(out, ["conv1"], "conv1", "conv1_relu", "ReLU")
    layer(out, ["conv1"], "pool1", "pool1", "Pooling",
          ("pooling_param", [("kernel_size", 3), ("stride", 2), ("pool", "MAX")]))
    prev = "pool1"
    for stage, n in enumerate(BLOCKS[depth]):
        s = stage + 2
        width = 64 << stage
        # ResNet-50 names every block with a letter; deeper nets name the
        # long stages a, b1, b2, ... (stage 2 and 5 keep letters).
        letters = depth == 50 or n == 3
        names = [chr(ord("a") + i) for i in range(n)] if letters else \
            ["a"] + ["b%d" % i for i in range(1, n)]
        for i, b in enumerate(names):
            r = "res%d%s" % (s, b)
            stride = 2 if i == 0 and s > 2 else 1
            if i == 0:
                conv_bn(out, prev, r + "_branch1", "%d%s_branch1" % (s, b), width * 4, 1, 0,
                        stride, False, False)
            conv_bn(out, prev, r + "_branch2a", "%d%s_branch2a" % (s, b), width, 1, 0, stride,
                    False, True)
            conv_bn(out, r + "_branch2a", r + "_branch2b", "%d%s_branch2b" % (s, b), width, 3, 1, 1,
                    False, True)
            conv_bn(out, r + "_branch2b", r + "_branch2c", "%d%s_branch2c" % (s, b), width * 4, 1,
                    0, 1, False, False)
            short = r + "_branch1" if i == 0 else prev
            layer(out, [short, r + "_branch2c"], r, r, "Eltwise")
            layer(out, [r], r, r + "_relu", "ReLU")
            prev = r
    layer(out, [prev], "pool5", "pool5", "Pooling",
          ("pooling_param", [("kernel_size", 7), ("stride", 1), ("pool", "AVE")]))
    layer(out, ["pool5"], "fc1000", "fc1000", "InnerProduct",
          ("inner_product_param", [("num_output", 1000)]))
    layer(out, ["fc1000"], "prob", "prob", "Softmax")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit() or int(sys.argv[1]) not in BLOCKS:
        sys.exit("usage: resnet_prototxt.py 50|101|152")
    sys.stdout.write(resnet(int(sys.argv[1])))


if __name__ == "__main__":
    main()
