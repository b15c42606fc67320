#include "fireflies/output.hpp"

namespace fireflies::output {

timeseries::timeseries(run_file& file, std::uint64_t chunk_frames)
    : t_(&file.create_series("/timeseries/t", element_type::f64, {}, "s",
                             "simulated time of the sample", chunk_frames)),
      R_(&file.create_series("/timeseries/R", element_type::f64, {}, "1",
                             "order parameter computed the seed's way from the time since each "
                             "firefly's last flash",
                             chunk_frames)),
      R_state_(&file.create_series("/timeseries/R_state", element_type::f64, {}, "1",
                                   "order parameter of the true phases", chunk_frames)),
      flashes_(&file.create_series("/timeseries/flashes", element_type::i64, {}, "flashes",
                                   "flashes in the interval (previous sample, t]", chunk_frames)),
      pulse_(&file.create_series("/timeseries/pulse", element_type::f64, {}, "flashes per firefly",
                                 "flashes so far divided by the number of fireflies",
                                 chunk_frames)) {}

void timeseries::append(const sample_row& row) {
    t_->append(row.t);
    R_->append(row.R);
    R_state_->append(row.R_state);
    flashes_->append(row.flashes);
    pulse_->append(row.pulse);
}

} // namespace fireflies::output
