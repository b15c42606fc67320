#include "scheduler/firefly_task.hpp"

#include <new>

#include "fireflies/huge_pages.hpp"

namespace fireflies {

namespace {
thread_local frame_array* current_frames = nullptr;
}

void* frame_array::allocate(std::size_t bytes) {
    constexpr std::size_t align = alignof(std::max_align_t);
    if (!base_) {
        size_ = bytes;
        stride_ = (bytes + align - 1) / align * align;
        base_.reset(huge_page_allocator<std::byte>().allocate(capacity_ * stride_));
    }
    if (bytes != size_ || used_ == capacity_) throw std::bad_alloc();
    return frame(used_++);
}

frame_array::scope::scope(frame_array& frames) noexcept : previous_(current_frames) { current_frames = &frames; }
frame_array::scope::~scope() { current_frames = previous_; }
frame_array* frame_array::current() noexcept { return current_frames; }

} // namespace fireflies
