#!/usr/bin/env bash
# Installs what fireflies needs from Debian's packages, when something is missing.
#   scripts/install-deps.sh          build and run: compiler, CMake, Open MPI, Boost.MPI, HDF5, CLI11,
#                                    toml++
#   scripts/install-deps.sh --test   also what the tests use: GoogleTest, Python (h5py, numpy,
#                                    matplotlib, nbconvert, xarray + h5netcdf, venv + pip),
#                                    tmux, clang (libFuzzer), clang-format, Slurm, munge,
#                                    ParaView (pvbatch) under Xvfb
# As root it runs apt-get; otherwise it prints the apt-get line to run and fails.
set -Eeuo pipefail

packages=(build-essential cmake pkg-config libopenmpi-dev openmpi-bin libboost-mpi-dev
          libhdf5-openmpi-dev hdf5-tools libcli11-dev libtomlplusplus-dev)
if [[ ${1:-} == --test ]]; then
    packages+=(googletest libgtest-dev python3 python3-h5py python3-numpy python3-matplotlib
               python3-pil jupyter-nbconvert python3-nbclient python3-ipykernel tmux clang
               clang-format libclang-rt-14-dev slurm-wlm munge python3-xarray python3-h5netcdf
               python3-venv python3-pip python3-setuptools paraview python3-paraview xvfb xauth)
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

echo "fireflies: installing missing packages: ${missing[*]}" >&2
if [[ $(id -u) != 0 ]]; then
    echo "fireflies: error: not root; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
