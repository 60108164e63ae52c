# CaffeoptModel.cmake - add_optimized_caffe_model(): a Caffe model declared
# once, optimized by caffeopt at build time and, optionally, embedded as C
# sources in a library target.
#
#   add_optimized_caffe_model(<target>
#       PROTOTXT <file> WEIGHTS <file>     the trained model (required)
#       [CONFIG <config.ini>]              the original project's ini
#       [PASSES <pass>...] [DISABLE <pass>...|all]
#       [MEAN <b> <g> <r> | MEAN <file.npy|file.binaryproto>]
#       [INPUT_SCALE <s>] [INPUT_SHAPE <n> <c> <h> <w>] [DEPLOY] [VERIFY]
#       [NAME <symbol>]                    C prefix; default <target>
#       [EMBED blob|weights|net]           no EMBED: optimized files only
#       [FORMAT literal|array|incbin] [ALIGN <n>] [SECTION <name>]
#       [TEMPLATE <dir>]                   the user's model.{h,c,S}.in
#       [OUTPUT_DIR <dir>]                 default ${CMAKE_CURRENT_BINARY_DIR}/caffeopt/<target>
#       [DEPENDS <file|target>...])
#
# Makes <target>: a STATIC library of the generated sources with
# OUTPUT_DIR as its PUBLIC include directory (an INTERFACE library when
# nothing is embedded), and the alias caffeopt::<target>.  A consumer writes
# only target_link_libraries(app PRIVATE <target>) and #include "<NAME>.h".
# Target properties: CAFFEOPT_PROTOTXT, CAFFEOPT_CAFFEMODEL (the optimized
# files), CAFFEOPT_HEADER, CAFFEOPT_SOURCES, CAFFEOPT_OUTPUT_DIR,
# CAFFEOPT_SYMBOL.
#
# The tool runs once per model through one add_custom_command.  It writes a
# stamp after every success and a depfile naming every file it read (the
# inputs, the ini, the mean file the ini names, the templates), so the
# model is regenerated exactly when one of those, or the tool, changes.
# Outputs whose bytes did not change are left untouched, so only what
# changed is recompiled.
#
# The host tool: CAFFEOPT_EXECUTABLE if set, else an imported
# caffeopt::caffeopt (find_package(caffeopt)), else the caffeopt target of
# this build when not cross-compiling.
include_guard(GLOBAL)

function(_caffeopt_tool out_cmd out_dep)
	if(CAFFEOPT_EXECUTABLE)
		set(${out_cmd} "${CAFFEOPT_EXECUTABLE}" PARENT_SCOPE)
		set(${out_dep} "${CAFFEOPT_EXECUTABLE}" PARENT_SCOPE)
		return()
	endif()
	if(TARGET caffeopt::caffeopt)
		get_target_property(_imported caffeopt::caffeopt IMPORTED)
		if(_imported OR NOT CMAKE_CROSSCOMPILING)
			set(${out_cmd} "$<TARGET_FILE:caffeopt::caffeopt>" PARENT_SCOPE)
			if(_imported)
				set(${out_dep} "$<TARGET_FILE:caffeopt::caffeopt>" PARENT_SCOPE)
			else()
				get_target_property(_real caffeopt::caffeopt ALIASED_TARGET)
				set(${out_dep} "${_real}" PARENT_SCOPE)
			endif()
			return()
		endif()
	endif()
	if(CMAKE_CROSSCOMPILING)
		message(FATAL_ERROR "add_optimized_caffe_model: cross-compiling, so this build's caffeopt "
			"cannot run here.  Build caffeopt for this machine and pass "
			"-DCAFFEOPT_EXECUTABLE=/path/to/caffeopt, or find_package(caffeopt) from a host install "
			"(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE may need BOTH).")
	endif()
	message(FATAL_ERROR "add_optimized_caffe_model: no caffeopt tool.  Use add_subdirectory() or "
		"FetchContent on caffeopt, find_package(caffeopt CONFIG) after installing it, or set "
		"CAFFEOPT_EXECUTABLE=/path/to/caffeopt.")
endfunction()

function(add_optimized_caffe_model target)
	set(_flags DEPLOY VERIFY)
	set(_one PROTOTXT WEIGHTS CONFIG INPUT_SCALE NAME EMBED FORMAT ALIGN SECTION TEMPLATE OUTPUT_DIR)
	set(_multi PASSES DISABLE MEAN INPUT_SHAPE DEPENDS)
	cmake_parse_arguments(PARSE_ARGV 1 arg "${_flags}" "${_one}" "${_multi}")
	set(_fn "add_optimized_caffe_model(${target})")
	if(arg_UNPARSED_ARGUMENTS)
		message(FATAL_ERROR "${_fn}: unknown arguments: ${arg_UNPARSED_ARGUMENTS}\n"
			"Keywords: ${_flags} ${_one} ${_multi}")
	endif()
	if(arg_KEYWORDS_MISSING_VALUES)
		message(FATAL_ERROR "${_fn}: no value for: ${arg_KEYWORDS_MISSING_VALUES}")
	endif()
	foreach(_kw PROTOTXT WEIGHTS)
		if(NOT DEFINED arg_${_kw})
			message(FATAL_ERROR "${_fn}: missing ${_kw} <file>")
		endif()
	endforeach()
	if(TARGET ${target})
		message(FATAL_ERROR "${_fn}: a target named '${target}' exists already")
	endif()

	# Paths are absolute, relative ones taken from this source folder.
	foreach(_kw PROTOTXT WEIGHTS CONFIG TEMPLATE)
		if(DEFINED arg_${_kw})
			get_filename_component(arg_${_kw} "${arg_${_kw}}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
		endif()
	endforeach()
	if(NOT DEFINED arg_OUTPUT_DIR)
		set(arg_OUTPUT_DIR "${CMAKE_CURRENT_BINARY_DIR}/caffeopt/${target}")
	endif()
	get_filename_component(arg_OUTPUT_DIR "${arg_OUTPUT_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")

	# The C symbol, as the tool makes it.
	if(NOT DEFINED arg_NAME)
		set(arg_NAME "${target}")
	endif()
	if(arg_NAME MATCHES "^[0-9]" OR arg_NAME STREQUAL "")
		message(FATAL_ERROR "${_fn}: NAME '${arg_NAME}' must start with a letter")
	endif()
	string(MAKE_C_IDENTIFIER "${arg_NAME}" _sym)
	if(_sym MATCHES "^_[_A-Z]")
		message(FATAL_ERROR "${_fn}: NAME '${arg_NAME}' makes the reserved C name '${_sym}'")
	endif()

	if(DEFINED arg_EMBED AND NOT arg_EMBED MATCHES "^(blob|weights|net)$")
		message(FATAL_ERROR "${_fn}: EMBED wants blob, weights or net, got '${arg_EMBED}'")
	endif()
	if(NOT DEFINED arg_FORMAT)
		set(arg_FORMAT literal)
	elseif(NOT arg_FORMAT MATCHES "^(literal|array|incbin)$")
		message(FATAL_ERROR "${_fn}: FORMAT wants literal, array or incbin, got '${arg_FORMAT}'")
	endif()
	if(NOT DEFINED arg_EMBED)
		foreach(_kw FORMAT ALIGN SECTION TEMPLATE)
			if(DEFINED arg_${_kw} AND NOT (_kw STREQUAL "FORMAT" AND arg_FORMAT STREQUAL "literal"))
				message(FATAL_ERROR "${_fn}: ${_kw} needs EMBED blob|weights|net")
			endif()
		endforeach()
	endif()
	if(DEFINED arg_INPUT_SHAPE)
		list(LENGTH arg_INPUT_SHAPE _n)
		if(NOT _n EQUAL 4)
			message(FATAL_ERROR "${_fn}: INPUT_SHAPE wants 4 numbers (n c h w), got '${arg_INPUT_SHAPE}'")
		endif()
	endif()
	if(arg_EMBED AND arg_FORMAT STREQUAL "incbin" AND NOT CMAKE_ASM_COMPILER_LOADED)
		message(FATAL_ERROR "${_fn}: FORMAT incbin assembles ${_sym}.S: add ASM to the project's "
			"LANGUAGES (project(... LANGUAGES C ASM)) or call enable_language(ASM) first")
	endif()

	_caffeopt_tool(_tool _tool_dep)

	# Outputs: what the tool writes for this EMBED/FORMAT (see src/embed.h).
	set(_dir "${arg_OUTPUT_DIR}")
	set(_stamp "${_dir}/${_sym}.stamp")
	set(_depfile "${_dir}/${_sym}.d")
	set(_prototxt "${_dir}/${_sym}.prototxt")
	set(_caffemodel "${_dir}/${_sym}.caffemodel")
	set(_header "")
	set(_sources "")
	set(_data "")
	set(_cmd "${_tool}" optimize -q -m "${arg_PROTOTXT}" -w "${arg_WEIGHTS}")
	if(arg_EMBED)
		set(_header "${_dir}/${_sym}.h")
		if(NOT (arg_EMBED STREQUAL "blob" AND arg_FORMAT STREQUAL "incbin"))
			list(APPEND _sources "${_dir}/${_sym}.c")
		endif()
		if(arg_FORMAT STREQUAL "incbin")
			list(APPEND _sources "${_dir}/${_sym}.S")
			if(arg_EMBED STREQUAL "blob")
				set(_data "${_caffemodel}" "${_prototxt}")
			else()
				set(_data "${_dir}/${_sym}.weights")
			endif()
		endif()
		list(APPEND _cmd --emit-c "${_dir}" --name "${arg_NAME}" --mode ${arg_EMBED} --format ${arg_FORMAT})
		if(DEFINED arg_ALIGN)
			list(APPEND _cmd --align ${arg_ALIGN})
		endif()
		if(DEFINED arg_SECTION)
			list(APPEND _cmd --section "${arg_SECTION}")
		endif()
		if(DEFINED arg_TEMPLATE)
			list(APPEND _cmd --template "${arg_TEMPLATE}")
		endif()
	else()
		list(APPEND _cmd -o "${_prototxt}" -W "${_caffemodel}")
	endif()
	set(_deps "${arg_PROTOTXT}" "${arg_WEIGHTS}" ${_tool_dep})
	if(DEFINED arg_CONFIG)
		list(APPEND _cmd --config "${arg_CONFIG}")
		list(APPEND _deps "${arg_CONFIG}")
	endif()
	if(DEFINED arg_PASSES)
		list(JOIN arg_PASSES "," _p)
		list(APPEND _cmd --enable "${_p}")
	endif()
	if(DEFINED arg_DISABLE)
		list(JOIN arg_DISABLE "," _p)
		list(APPEND _cmd --disable "${_p}")
	endif()
	if(DEFINED arg_MEAN)
		list(LENGTH arg_MEAN _n)
		list(GET arg_MEAN 0 _m0)
		if(_n EQUAL 1 AND NOT _m0 MATCHES "^[-+0-9.eE]+$")
			get_filename_component(_m0 "${_m0}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
			list(APPEND _cmd --mean "${_m0}")
			list(APPEND _deps "${_m0}")
		else()
			list(JOIN arg_MEAN "," _p)
			list(APPEND _cmd --mean "${_p}")
		endif()
	endif()
	if(DEFINED arg_INPUT_SCALE)
		list(APPEND _cmd --input-scale "${arg_INPUT_SCALE}")
	endif()
	if(DEFINED arg_INPUT_SHAPE)
		list(JOIN arg_INPUT_SHAPE "," _p)
		list(APPEND _cmd --input-shape "${_p}")
	endif()
	if(arg_DEPLOY)
		list(APPEND _cmd --deploy)
	endif()
	if(arg_VERIFY)
		list(APPEND _cmd --verify)
	endif()
	if(DEFINED arg_TEMPLATE)
		file(GLOB _tpl "${arg_TEMPLATE}/*.in")
		list(APPEND _deps ${_tpl})
	endif()
	foreach(_d IN LISTS arg_DEPENDS)
		if(TARGET "${_d}")
			list(APPEND _deps "${_d}")
		else()
			get_filename_component(_d "${_d}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
			list(APPEND _deps "${_d}")
		endif()
	endforeach()
	list(APPEND _cmd --depfile "${_depfile}" --stamp "${_stamp}")

	# The stamp is the custom command's output: the tool rewrites it on
	# every success, last, and the depfile names it.  The other files are
	# BYPRODUCTS: rewritten only when their bytes change, so Ninja (restat)
	# and Make (mtimes) recompile only what changed.  Declared as OUTPUTs,
	# the Makefile generator would touch every one of them after each run.
	set(_byproducts "${_prototxt}" "${_caffemodel}" ${_header} ${_sources} ${_data})
	list(REMOVE_DUPLICATES _byproducts)
	file(MAKE_DIRECTORY "${_dir}")
	cmake_policy(PUSH)
	cmake_policy(SET CMP0116 NEW)
	add_custom_command(
		OUTPUT "${_stamp}"
		BYPRODUCTS ${_byproducts}
		COMMAND ${_cmd}
		DEPENDS ${_deps}
		DEPFILE "${_depfile}"
		COMMENT "caffeopt: optimizing ${target} (${arg_NAME})"
		VERBATIM)
	cmake_policy(POP)

	if(_sources)
		add_library(${target} STATIC ${_sources} ${_header} "${_stamp}")
		target_include_directories(${target} PUBLIC "$<BUILD_INTERFACE:${_dir}>")
		if(arg_EMBED STREQUAL "net")
			if(TARGET caffeopt::runtime)
				target_link_libraries(${target} PUBLIC caffeopt::runtime)
			else()
				message(FATAL_ERROR "${_fn}: EMBED net needs the caffeopt runtime library (caffeopt::runtime)")
			endif()
		endif()
		if(_data)
			# The .S does not change when the data does: rebuild on the data.
			set_source_files_properties("${_dir}/${_sym}.S" PROPERTIES OBJECT_DEPENDS "${_data}")
		endif()
	else()
		add_library(${target} INTERFACE)
		add_custom_target(${target}_caffeopt DEPENDS "${_stamp}")
		add_dependencies(${target} ${target}_caffeopt)
		if(_header)
			target_include_directories(${target} INTERFACE "$<BUILD_INTERFACE:${_dir}>")
		endif()
	endif()
	add_library(caffeopt::${target} ALIAS ${target})
	set_target_properties(${target} PROPERTIES
		CAFFEOPT_PROTOTXT "${_prototxt}"
		CAFFEOPT_CAFFEMODEL "${_caffemodel}"
		CAFFEOPT_HEADER "${_header}"
		CAFFEOPT_SOURCES "${_sources}"
		CAFFEOPT_OUTPUT_DIR "${_dir}"
		CAFFEOPT_SYMBOL "${_sym}")
endfunction()
