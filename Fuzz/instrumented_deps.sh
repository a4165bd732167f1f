#!/bin/bash
# Builds libpng 1.6.39 and libjpeg-turbo 2.1.5 (the versions of Debian 12's libpng16-16 and libturbojpeg0, so the
# ABI matches) from Debian's source packages with coverage and AddressSanitizer instrumentation, as shared
# libraries in .work/deps/lib. Running a fuzzer with LD_LIBRARY_PATH=.work/deps/lib then guides the fuzzing through
# the decoders' own code and checks their memory accesses (`make fuzz` does this when the folder exists).
# Needs clang (the Swift toolchain's), cmake, and network access to deb.debian.org; the apt state is kept in
# .work/apt, the system's apt configuration is not touched. Upstream tarballs: Debian's security patches are not
# applied, so a crash inside libpng or libjpeg-turbo should be checked against the patched system library.
set -euo pipefail
cd "$(dirname "$0")"
work=$PWD/.work
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/src" "$work/deps"
printf 'deb-src http://deb.debian.org/debian bookworm main\n' > "$work/apt/sources.list"
apt_opts=(-o Dir::Etc::SourceList="$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o Dir::State::Lists="$work/apt/lists" -o Dir::Cache="$work/apt/cache")
apt-get "${apt_opts[@]}" update
cd "$work/src"
apt-get "${apt_opts[@]}" source --download-only libpng1.6 libjpeg-turbo  # orig tarballs 1.6.39 and 2.1.5 in bookworm
tar xzf libpng1.6_1.6.39.orig.tar.gz
tar xzf libjpeg-turbo_2.1.5.orig.tar.gz

CC=$(dirname "$(readlink -f "$(command -v swift)")")/clang
FLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address"

# libpng: the shared library leaves the ASan/libFuzzer symbols to the fuzzer executable.
(cd libpng-1.6.39 && CC=$CC CFLAGS=$FLAGS LDFLAGS=-fsanitize=address \
    ./configure --prefix="$work/deps" --disable-static --enable-hardware-optimizations=no && make -j2 && make install)

# libjpeg-turbo's TurboJPEG library, without the SIMD assembly (not instrumentable).
mkdir -p jt-build
(cd jt-build && cmake ../libjpeg-turbo-2.1.5 -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS_RELEASE="$FLAGS" -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address \
    -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address -DWITH_SIMD=0 -DENABLE_STATIC=0 -DWITH_JAVA=0 \
    && make -j2 turbojpeg && cp -a libturbojpeg.so* "$work/deps/lib/")
echo "instrumented libraries in $work/deps/lib"
