# caffeopt-rules.mk - caffeopt's Make module, part 2: the rules of every
# model declared with caffeopt_model (see caffeopt-config.mk).  Include it
# after the declarations.
#
# Per model, one rule runs the tool once (make -j safe): its target is the
# stamp the tool rewrites last on success; the outputs hang off the stamp
# with an empty recipe, so make looks at their mtimes again after the run
# and recompiles only what changed.  The tool's depfile (-include'd) adds
# the files it read: the ini's mean file, the templates.  A missing output
# forces a run.  A failed run writes nothing and leaves no stamp, so the
# next make retries.

.DELETE_ON_ERROR:

# These rules must not become the makefile's default goal.
_caffeopt_goal := $(.DEFAULT_GOAL)

ifeq ($(V),1)
_caffeopt_Q :=
_caffeopt_say = @:
else
_caffeopt_Q := @
_caffeopt_say = @echo
endif

# The tool as a prerequisite: its path, or where PATH finds it.
_caffeopt_tool = $(if $(findstring /,$(CAFFEOPT)),$(CAFFEOPT),$(shell command -v '$(CAFFEOPT)' 2>/dev/null))

define _caffeopt_rules
$$($1_STAMP): $$($1_IN_PROTOTXT) $$($1_IN_WEIGHTS) $$($1_INI) $(_caffeopt_tool) \
		$$(if $$(filter-out $$(wildcard $$($1_OUTPUTS)),$$($1_OUTPUTS)),_caffeopt_force) | $$($1_INCDIR)
	$$(_caffeopt_say) "  CAFFEOPT $1 ($$($1_MODE), $$($1_FORMAT))"
	$$(_caffeopt_Q)$$(CAFFEOPT) optimize -q -m $$($1_IN_PROTOTXT) -w $$($1_IN_WEIGHTS) \
		$$(if $$($1_INI),--config $$($1_INI)) --emit-c $$($1_INCDIR) --name $1 \
		$$($1_FLAGS) $$(CAFFEOPT_FLAGS) --depfile $$($1_DEPFILE) --stamp $$@

$$($1_OUTPUTS): $$($1_STAMP) ;

-include $$($1_DEPFILE)
endef

$(foreach _m,$(CAFFEOPT_MODELS),$(eval $(call _caffeopt_rules,$(_m))))

# The output folders, made once (order-only prerequisites above).
$(sort $(foreach _m,$(CAFFEOPT_MODELS),$($(_m)_INCDIR))):
	$(_caffeopt_Q)mkdir -p $@

.PHONY: _caffeopt_force
_caffeopt_force:

.DEFAULT_GOAL := $(_caffeopt_goal)
