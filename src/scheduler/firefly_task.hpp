#pragma once
#include <coroutine>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <memory>
#include <vector>

#include "fireflies/firefly.hpp"

namespace fireflies {

/// The coroutine frames of a block's fireflies, side by side in one array: every firefly runs
/// the same coroutine, so every frame has the same size, and frame i is at base + i * stride.
/// The loop finds a firefly's frame from its index (no table of handles to read first), and
/// there is no per-frame malloc. Released together. The stride is the frame's size rounded up to
/// the alignment new gives (16 bytes), and the array starts on a cache line: a firefly's frame
/// (48 bytes with GCC 12: docs/performance.md, "Large blocks") takes 48, four frames to three
/// lines.
class frame_array {
  public:
    explicit frame_array(std::size_t frames) noexcept : capacity_(frames) {}
    frame_array(const frame_array&) = delete;
    frame_array& operator=(const frame_array&) = delete;

    /// The next frame; the first call fixes the stride. Throws std::bad_alloc beyond the
    /// capacity, or for a frame of another size.
    void* allocate(std::size_t bytes) {
        if (bytes == size_ && used_ < capacity_) return frame(used_++);
        return allocate_first(bytes);
    }
    std::size_t bytes_reserved() const noexcept { return capacity_ * stride_; }
    void* frame(std::size_t i) const noexcept { return base_.get() + i * stride_; }
    std::size_t stride() const noexcept { return stride_; }

    /// While a scope is alive, new firefly coroutine frames on this thread come from `frames`.
    class scope {
      public:
        explicit scope(frame_array& frames) noexcept;
        ~scope();
        scope(const scope&) = delete;
        scope& operator=(const scope&) = delete;

      private:
        frame_array* previous_;
    };
    static frame_array* current() noexcept { return current_; }

  private:
    void* allocate_first(std::size_t bytes);
    static inline thread_local frame_array* current_ = nullptr;
    struct release {
        void operator()(std::byte* p) const noexcept { std::free(p); }
    };
    std::unique_ptr<std::byte[], release> base_;
    std::size_t capacity_ = 0, stride_ = 0, used_ = 0, size_ = 0;
};

/// The coroutine type of one firefly. It runs to its first suspension when made (no resume to
/// start it), never finishes on its own and is destroyed by its owner. Frames come from the
/// current frame_array. Its promise holds the firefly's state besides its flash time, so that a
/// turn touches one frame: one line of memory, or two for the frames that straddle a line.
struct firefly_task {
    struct promise_type {
        firefly_rest rest;

        firefly_task get_return_object() noexcept {
            return firefly_task{std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }

        static void* operator new(std::size_t bytes) {
            frame_array* frames = frame_array::current();
            return frames ? frames->allocate(bytes) : ::operator new(bytes);
        }
        // Frames are released with their frame_array; a frame made without one is not.
        static void operator delete(void*, std::size_t) noexcept {}
    };

    std::coroutine_handle<promise_type> handle;
};

} // namespace fireflies
