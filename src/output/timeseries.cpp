#include "fireflies/output.hpp"

namespace fireflies::output {

timeseries::timeseries(run_file& file, std::uint64_t chunk_frames,
                       std::optional<std::uint64_t> continue_after, double volley_window) {
    auto make = [&](const char* path, element_type type, const char* units, const char* long_name,
                    const char* description) {
        return continue_after ? &file.continue_series(path, *continue_after)
                              : &file.create_series(path, type, {}, units, long_name, description,
                                                    chunk_frames);
    };
    t_ = make("/timeseries/t", element_type::f64, "s", "simulated time",
              "simulated time of the sample");
    R_ = make(
        "/timeseries/R", element_type::f64, "1", "order parameter (seed's way)",
        "order parameter computed the seed's way from the time since each firefly's last flash");
    R_state_ = make("/timeseries/R_state", element_type::f64, "1", "order parameter of the phases",
                    "order parameter of the true phases");
    flashes_ = make("/timeseries/flashes", element_type::i64, "flashes", "flashes in the interval",
                    "flashes in the interval (previous sample, t]");
    pulse_ =
        make("/timeseries/pulse", element_type::f64, "flashes per firefly",
             "flashes per firefly so far", "flashes so far divided by the number of fireflies");
    largest_volley_ = make(
        "/timeseries/largest_volley", element_type::i64, "flashes", "largest volley",
        "the most flashes of the interval (previous sample, t] within any window of volley_window "
        "seconds (its attribute): the size of the interval's largest volley; -1 where the hub did "
        "not "
        "see the interval's flashes (summary telemetry)");
    if (!continue_after)
        file.set_attribute(largest_volley_->path(), "volley_window", volley_window);
    // Every series is a function of the sample time: t is the coordinate of their dimension.
    for (const series* s : {R_, R_state_, flashes_, pulse_, largest_volley_})
        file.set_dimensions(s->path(), {t_->path()});
}

void timeseries::append(const sample_row& row) {
    t_->append(row.t);
    R_->append(row.R);
    R_state_->append(row.R_state);
    flashes_->append(row.flashes);
    pulse_->append(row.pulse);
    largest_volley_->append(row.largest_volley);
}

} // namespace fireflies::output
