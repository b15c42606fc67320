#include "scheduler/firefly_task.hpp"

#include <algorithm>
#include <bit>
#include <new>

#include "runtime/huge_pages.hpp"

namespace fireflies {

namespace {
thread_local frame_array* current_frames = nullptr;
}

void* frame_array::allocate(std::size_t bytes) {
    struct alignas(64) line {
        std::byte bytes[64];
    };
    if (!base_) {
        size_ = bytes;
        stride_ = std::bit_ceil(std::max(bytes, alignof(std::max_align_t)));
        const std::size_t lines = (capacity_ * stride_ + sizeof(line) - 1) / sizeof(line);
        base_.reset(reinterpret_cast<std::byte*>(
            huge_page_allocator<line>().allocate(std::max<std::size_t>(lines, 1))));
    }
    if (bytes != size_ || used_ == capacity_) throw std::bad_alloc();
    return frame(used_++);
}

frame_array::scope::scope(frame_array& frames) noexcept : previous_(current_frames) {
    current_frames = &frames;
}
frame_array::scope::~scope() {
    current_frames = previous_;
}
frame_array* frame_array::current() noexcept {
    return current_frames;
}

} // namespace fireflies
