/* upgrade.h - bring legacy Caffe nets (V0, V1 `layers`) to the current
 * format, as Caffe's UpgradeNetAsNeeded does (util/upgrade_proto.cpp). */
#ifndef CAFFEOPT_UPGRADE_H
#define CAFFEOPT_UPGRADE_H

#include "caffeopt/caffeopt.h"
#include "caffe.pb-c.h"

/* Upgrade net in place (it must live on the default allocator, as
 * protobuf-c's unpack and our text parser leave it), in Caffe's order:
 *   V0 (`layers` entries holding a V0 `layer`): padding layers folded into
 *     the pad of the conv/pool layer they feed, V0 fields moved into the
 *     typed *_param messages, blobs_lr/weight_decay kept for the next step;
 *   V1 data layers: scale/mean_file/crop_size/mirror of data_param,
 *     image_data_param and window_data_param moved into transform_param;
 *   V1 -> V2 `layer`: enum types to Caffe's type strings, every *_param,
 *     include/exclude, loss_weight, bottom/top, name and blobs (so a V1
 *     caffemodel's weights) moved; param names, blob_share_mode, blobs_lr
 *     and weight_decay become `param { name share_mode lr_mult decay_mult }`;
 *   BatchNorm layers with exactly three param specs: a spec that would
 *     train the statistics (lr_mult not 0) gets lr_mult 0 and decay_mult 0.
 * Net-level input/input_shape/input_dim stay as they are (no Input layer).
 * path names the net in errors and warnings (NULL: none).  warn (may be
 * NULL) is called at most once, e.g. "<path>: upgraded from V1 layers
 * (9 layers)".
 * Returns 1 when something was upgraded, 0 when net was already current,
 * -1 with err filled when net cannot be upgraded: both `layer` and
 * `layers`, an unknown V1 type or blob_share_mode, an unknown V0 type, a V0
 * field that has no place in its layer's type, a padding layer that feeds
 * anything but a single-input conv/pool layer, a bottom nothing produces
 * in a V0 net.  On such an error net is unchanged; after running out of
 * memory it may be partly upgraded but is still valid to free. */
int upgrade_net(Caffe__NetParameter *net, const char *path, caffeopt_warn_fn warn,
                void *ctx, caffeopt_error *err);

#endif
