# Compiler flags for affine's own targets. Nothing here is attached PUBLIC/INTERFACE, so no flag of
# ours (warnings, ISA, sanitizers) reaches a consumer's code through affine::affine.
include(GNUInstallDirs)

set(AFFINE_WARNINGS -Wall -Wextra -Wpedantic -Wnon-virtual-dtor
    $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>)
if(AFFINE_WERROR)
  list(APPEND AFFINE_WARNINGS -Werror)
endif()

if(AFFINE_SANITIZE)
  string(REPLACE ";" "," _affine_san "${AFFINE_SANITIZE}")
  # Applied directory-wide (not through the library's interface) so tests, examples and the
  # library agree on the runtime; halt on the first error so ctest sees a failure.
  add_compile_options(-fsanitize=${_affine_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_affine_san})
endif()

function(affine_private_flags target)
  target_compile_options(${target} PRIVATE ${AFFINE_WARNINGS})
  # No contraction of a * b + c into fma behind our back: GCC in ISO mode never contracts, clang
  # does by default (-ffp-contract=on), and the kernels promise the same bits from every compiler
  # (fma is written explicitly where it is wanted). Checked by tests/bits (scripts/test.sh).
  target_compile_options(${target} PRIVATE -ffp-contract=off)
  if(AFFINE_NATIVE)
    target_compile_options(${target} PRIVATE -march=native)
  endif()
endfunction()

# Files named *_avx512.cpp or *_avx2.cpp are compiled for that ISA only; callers reach them through
# run-time dispatch (tensor/src/cpu.cpp). Other files stay at the baseline x86-64 ISA.
function(affine_isa_sources)
  if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
    return()
  endif()
  # GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (their _mm512_undefined_* idiom), so
  # that one warning is off in the AVX-512 files only.
  set(_avx512_quirk "")
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    set(_avx512_quirk ";-Wno-maybe-uninitialized")
  endif()
  foreach(src IN LISTS ARGN)
    if(src MATCHES "_avx512\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS
        "-mavx512f;-mavx512dq;-mavx512vl;-mavx512bw;-mavx2;-mfma;-mf16c${_avx512_quirk}")
    elseif(src MATCHES "_avx2\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
    endif()
  endforeach()
endfunction()

# Common properties of the layer object libraries (tensor, autograd, nn): position-independent (a
# shared affine is built from them), hidden symbols (only AFFINE_API is exported), C++20.
function(affine_layer target)
  set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF POSITION_INDEPENDENT_CODE ON
                                             CXX_VISIBILITY_PRESET hidden
                                             VISIBILITY_INLINES_HIDDEN ON)
  target_compile_features(${target} PUBLIC cxx_std_20)
  affine_private_flags(${target})
endfunction()
