#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace fireflies {

/// The ranks that write or read a checkpoint together: the workers (ranks 1..P-1), or the one
/// process of a one-process run. Every call is collective over them: each rank makes the same
/// calls in the same order. src/comm implements it over an MPI communicator of its own; the
/// checkpoint code (src/output) makes no MPI call: it passes communicator() to HDF5.
class collective {
  public:
    virtual ~collective() = default;

    /// This rank's place among them, 0..size()-1 (worker w is member w).
    virtual int rank() const noexcept = 0;
    virtual int size() const noexcept = 0;

    /// The address of their MPI communicator (an MPI_Comm), for HDF5's MPI-IO driver only:
    /// src/output hands it to H5Pset_fapl_mpio (src/output/mpio.cpp) and makes no MPI call.
    virtual const void* communicator() const noexcept = 0;

    /// Element-wise sum (modulo 2^64) of every member's `values`, into every member's `values`.
    virtual void sum(std::span<std::uint64_t> values) const = 0;
    /// The same, into member `root`'s `values` only (the others' are left unspecified).
    virtual void sum_to(std::span<std::uint64_t> values, int root) const = 0;
    /// The sum of `value` over the members before this one (0 on member 0).
    virtual std::uint64_t sum_before(std::uint64_t value) const = 0;
    /// The smallest `value` of all members, on every member.
    virtual std::int64_t min(std::int64_t value) const = 0;
    /// Member `root`'s `values` to every member (the same length on all).
    virtual void broadcast(std::span<std::uint64_t> values, int root) const = 0;
    /// Every member's `value`, in member order, on member `root` (empty elsewhere): O(size) bytes
    /// at `root`, once per checkpoint.
    virtual std::vector<std::uint64_t> gather(std::uint64_t value, int root) const = 0;
};

} // namespace fireflies
