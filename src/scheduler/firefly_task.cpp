#include "scheduler/firefly_task.hpp"

#include <new>

#include "fireflies/huge_pages.hpp"

namespace fireflies {

namespace {
thread_local frame_arena* current_arena = nullptr;
}

void* frame_arena::allocate(std::size_t bytes) {
    constexpr std::size_t align = alignof(std::max_align_t);
    bytes = (bytes + align - 1) / align * align;
    if (bytes > slab_bytes) throw std::bad_alloc();
    if (used_ + bytes > slab_bytes) {
        slabs_.emplace_back(huge_page_allocator<std::byte>().allocate(slab_bytes));
        used_ = 0;
    }
    void* p = slabs_.back().get() + used_;
    used_ += bytes;
    return p;
}

frame_arena::scope::scope(frame_arena& arena) noexcept : previous_(current_arena) { current_arena = &arena; }
frame_arena::scope::~scope() { current_arena = previous_; }
frame_arena* frame_arena::current() noexcept { return current_arena; }

} // namespace fireflies
