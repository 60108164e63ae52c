# caffeopt-config.mk - caffeopt's Make module, part 1: settings and the
# model declaration.  GNU Make 3.82 or later.
#
#	CAFFEOPT := /path/to/caffeopt              # the host tool (default: caffeopt on PATH)
#	CAFFEOPT_OUTDIR := build/gen               # outputs go to $(CAFFEOPT_OUTDIR)/NAME/
#	include /path/to/share/caffeopt/make/caffeopt-config.mk
#	$(eval $(call caffeopt_model,cifar10,model/x.prototxt,model/x.caffemodel,config.ini,--deploy --mode weights))
#	include /path/to/share/caffeopt/make/caffeopt-rules.mk
#
#	app: main.o $(cifar10_SRCS:.c=.o)         # compile with -I$(cifar10_INCDIR)
#	main.o: $(cifar10_HDRS)                    # the header is generated
#
# caffeopt_model,NAME,PROTOTXT,WEIGHTS[,INI][,FLAGS]: NAME is the C symbol
# prefix (letters, digits, '_'; not starting with a digit).  FLAGS are
# `caffeopt optimize` options: --deploy, --mode blob|weights|net, --format
# literal|array|incbin, --align N, --section S, --template DIR, --enable,
# --disable, --mean, --input-scale, --input-shape 1x3x32x32.  A comma would
# split the call's arguments: write $(caffeopt_comma) for one.  One run of
# the tool optimizes and writes every output; it reruns when an input, the
# ini, a file the ini names (the mean file), a template or the tool changes,
# or an output is missing.  Outputs whose bytes did not change keep their
# mtime, so only what changed is recompiled.
#
# Variables set for each model:
#	NAME_SRCS     the generated sources to compile (NAME.c, and NAME.S for incbin)
#	NAME_HDRS     NAME.h
#	NAME_INCDIR   the folder to pass with -I (incbin's .S needs it too)
#	NAME_OUTPUTS  every file the tool writes, the optimized model included
#	NAME_PROTOTXT, NAME_CAFFEMODEL   the optimized model files
#	NAME_DATA     the files NAME.S .incbin's: its object must depend on them
#	NAME_STAMP    rewritten after every successful run
# and for all models: CAFFEOPT_RUNTIME_SRCS (compile them for --mode net)
# and CAFFEOPT_INCLUDE_DIR (-I for caffeopt/runtime.h).  Quiet unless V=1.

CAFFEOPT ?= caffeopt
CAFFEOPT_OUTDIR ?= caffeopt-out
# The runtime (net mode): its sources, compiled with the project's own
# compiler (a cross compiler included), and the folder of caffeopt/runtime.h.
# Found beside this file in an install (share/caffeopt/{make,runtime},
# include/) and in the source tree (make/, src/runtime/, include/).
_caffeopt_here := $(dir $(lastword $(MAKEFILE_LIST)))
CAFFEOPT_RUNTIME_DIR ?= $(patsubst %/forward.c,%,$(firstword $(wildcard \
	$(_caffeopt_here)../runtime/forward.c $(_caffeopt_here)../src/runtime/forward.c)))
CAFFEOPT_INCLUDE_DIR ?= $(patsubst %/caffeopt/runtime.h,%,$(firstword $(wildcard \
	$(_caffeopt_here)../../../include/caffeopt/runtime.h $(_caffeopt_here)../include/caffeopt/runtime.h)))
CAFFEOPT_RUNTIME_SRCS = $(sort $(wildcard $(CAFFEOPT_RUNTIME_DIR)/*.c))
CAFFEOPT_FLAGS ?=
CAFFEOPT_MODELS :=
caffeopt_comma := ,

_caffeopt_chars := a b c d e f g h i j k l m n o p q r s t u v w x y z \
	A B C D E F G H I J K L M N O P Q R S T U V W X Y Z 0 1 2 3 4 5 6 7 8 9 _
# $1 without any of the characters in $2.
_caffeopt_strip = $(if $2,$(call _caffeopt_strip,$(subst $(firstword $2),,$1),$(wordlist 2,$(words $2),$2)),$1)
# The word after $1 in $2, or empty.
_caffeopt_after = $(if $(filter $1,$(firstword $2)),$(word 2,$2),$(if $(word 2,$2),$(call _caffeopt_after,$1,$(wordlist 2,$(words $2),$2))))
# The value of option $1 (--opt X or --opt=X) in $2, else $3.
_caffeopt_opt = $(or $(patsubst $1=%,%,$(filter $1=%,$2)),$(call _caffeopt_after,$1,$2),$3)

define caffeopt_model
$(if $(strip $1),,$(error caffeopt_model: no NAME))
$(if $(call _caffeopt_strip,$1,$(_caffeopt_chars))$(filter 0% 1% 2% 3% 4% 5% 6% 7% 8% 9%,$1),\
	$(error caffeopt_model: NAME '$1' must be a C identifier: letters, digits and _, not starting with a digit))
$(if $(strip $2),,$(error caffeopt_model $1: no PROTOTXT))
$(if $(strip $3),,$(error caffeopt_model $1: no WEIGHTS))
$(if $(filter $1,$(CAFFEOPT_MODELS)),$(error caffeopt_model: $1 declared twice))
CAFFEOPT_MODELS += $1
$1_IN_PROTOTXT := $(strip $2)
$1_IN_WEIGHTS := $(strip $3)
$1_INI := $(strip $4)
$1_FLAGS := $(strip $5)
$1_MODE := $(call _caffeopt_opt,--mode,$5,blob)
$1_FORMAT := $(call _caffeopt_opt,--format,$5,literal)
$1_INCDIR := $(CAFFEOPT_OUTDIR)/$1
$1_STAMP := $(CAFFEOPT_OUTDIR)/$1/$1.stamp
$1_DEPFILE := $(CAFFEOPT_OUTDIR)/$1/$1.d
$1_PROTOTXT := $(CAFFEOPT_OUTDIR)/$1/$1.prototxt
$1_CAFFEMODEL := $(CAFFEOPT_OUTDIR)/$1/$1.caffemodel
$1_HDRS := $(CAFFEOPT_OUTDIR)/$1/$1.h
$1_SRCS := $(if $(filter blob-incbin,$(call _caffeopt_opt,--mode,$5,blob)-$(call _caffeopt_opt,--format,$5,literal)),,$(CAFFEOPT_OUTDIR)/$1/$1.c) \
	$(if $(filter incbin,$(call _caffeopt_opt,--format,$5,literal)),$(CAFFEOPT_OUTDIR)/$1/$1.S)
$1_DATA := $(if $(filter incbin,$(call _caffeopt_opt,--format,$5,literal)),$(if $(filter blob,$(call _caffeopt_opt,--mode,$5,blob)),\
	$(CAFFEOPT_OUTDIR)/$1/$1.caffemodel $(CAFFEOPT_OUTDIR)/$1/$1.prototxt,$(CAFFEOPT_OUTDIR)/$1/$1.weights))
$1_OUTPUTS := $$($1_PROTOTXT) $$($1_CAFFEMODEL) $$($1_HDRS) $$($1_SRCS) $$(filter %.weights,$$($1_DATA))
endef
