#pragma once
#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>

namespace fireflies {

/// Memory for the big per-firefly arrays, in 2 MiB transparent huge pages where the kernel
/// offers them (madvise mode): the event loop touches these arrays at scattered places, and
/// with 4 KiB pages most of those touches would also miss the TLB.
template <class T> struct huge_page_allocator {
    using value_type = T;
    static constexpr std::size_t huge = std::size_t{2} << 20;

    huge_page_allocator() noexcept = default;
    template <class U> huge_page_allocator(const huge_page_allocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        const std::size_t bytes = n * sizeof(T);
        const std::size_t align = bytes >= huge ? huge
                                  : alignof(std::max_align_t) > alignof(T)
                                      ? alignof(std::max_align_t)
                                      : alignof(T);
        const std::size_t rounded = (bytes + align - 1) / align * align;
        void* p = std::aligned_alloc(align, rounded == 0 ? align : rounded);
        if (!p) throw std::bad_alloc();
        if (bytes >= huge) ::madvise(p, rounded, MADV_HUGEPAGE); // advice only: failure is harmless
        return static_cast<T*>(p);
    }
    void deallocate(T* p, std::size_t) noexcept { std::free(p); }

    template <class U> bool operator==(const huge_page_allocator<U>&) const noexcept {
        return true;
    }
};

} // namespace fireflies
