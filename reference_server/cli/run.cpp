// `run`: one call of a processor on files, its outputs written keeping their geometry.

#include "commands.hpp"
#include "describe.hpp"
#include "file_io.hpp"
#include "interrupt.hpp"
#include "parameters.hpp"
#include "progress.hpp"

#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/message/progress.hpp>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace slicerbridge {
namespace cli {

namespace {

struct run_options {
    std::string processor;
    std::vector<std::string> inputs;
    std::vector<std::string> parameters;
    std::vector<std::string> outputs;
    std::optional<std::string> deadline;
    bool timings = false;
    bool quiet = false;
    std::string progress = "auto";
};

[[noreturn]] void unknown_slot(const std::string& kind, const std::string& name,
                               const processor_description& d, const std::vector<slot>& slots) {
    fail(exit_usage, d.name + " has no " + kind + " named \"" + name + "\" (its " + kind +
                         "s: " + slot_names(slots) + ")");
}

std::string data_summary(const data_value& data) {
    std::ostringstream out;
    if (const auto* img = std::get_if<image>(&data)) {
        out << "image " << img->dims[0] << "x" << img->dims[1] << "x" << img->dims[2] << " "
            << dtype_name(img->dtype) << " " << image_kind_name(img->kind);
        if (img->components > 1) {
            out << " (" << img->components << " components)";
        }
    } else if (const auto* m = std::get_if<mesh>(&data)) {
        out << "mesh of " << m->point_count() << " points and " << m->cell_count() << " cells";
    } else if (const auto* t = std::get_if<table>(&data)) {
        out << "table of " << t->row_count() << " rows and " << t->columns.size() << " columns";
    } else if (std::holds_alternative<transform>(data)) {
        out << "linear transform";
    } else if (const auto* series = std::get_if<image_series>(&data)) {
        out << "image series of " << series->volumes.size() << " volumes " << series->dims[0]
            << "x" << series->dims[1] << "x" << series->dims[2] << " "
            << dtype_name(series->dtype) << " along " << series_axis_name(series->axis);
    } else {
        out << "list of " << std::get<point_list>(data).point_count() << " points";
    }
    return out.str();
}

/// The options checked before connecting: assignments split, the deadline read.
struct run_request {
    std::string name;
    std::vector<std::pair<std::string, std::string>> inputs;
    std::vector<std::pair<std::string, std::string>> parameters;
    std::vector<std::pair<std::string, std::string>> outputs;
    std::optional<double> deadline;
    bool timings;
    bool quiet;
    progress_display::mode display_mode;
};

run_request checked_request(const run_options& o) {
    run_request r{o.processor,
                  split_assignments("--input", o.inputs),
                  split_assignments("--param", o.parameters),
                  split_assignments("--output", o.outputs),
                  std::nullopt,
                  o.timings,
                  o.quiet,
                  progress_mode(o.progress, o.quiet)};
    if (o.deadline) {
        r.deadline = parse_seconds("--deadline", *o.deadline);
    }
    return r;
}

int run(connection& connected, const run_request& r) {
    sync_client& client = connected.client();
    const std::string& name = r.name;
    const auto& inputs = r.inputs;
    const auto& parameters = r.parameters;
    const auto& outputs = r.outputs;
    const bool quiet = r.quiet;

    const processor_description description = connected.describe(name);
    invoke_params params;
    params.processor = name;
    for (const auto& [input_name, path] : inputs) {
        const slot* s = find_slot(description.inputs, input_name);
        if (s == nullptr) {
            unknown_slot("input", input_name, description, description.inputs);
        }
        try {
            params.inputs.emplace_back(input_name, files::read_data(path, s->type, s->image_kind));
        } catch (const files::file_error& e) {
            fail(exit_file, e.what());
        }
    }
    for (const auto& [parameter_name, text] : parameters) {
        const slot* s = find_slot(description.parameters, parameter_name);
        if (s == nullptr) {
            unknown_slot("parameter", parameter_name, description, description.parameters);
        }
        params.parameters.emplace_back(parameter_name, parse_parameter(*s, text));
    }
    for (const auto& [output_name, path] : outputs) {
        const slot* s = find_slot(description.outputs, output_name);
        if (s != nullptr && is_scalar_output(*s)) {
            fail(exit_usage, output_name + " is a value, printed as \"" + output_name +
                                 " = VALUE\" on standard output, not a file");
        }
        if (s == nullptr) {
            unknown_slot("output", output_name, description, description.outputs);
        }
        try {
            files::check_writable(path, s->type); // before the computation, not after it
        } catch (const files::file_error& e) {
            fail(exit_file, e.what());
        }
    }

    progress_display bar(r.display_mode);
    cancel_on_interrupt interrupt(client, program, client.reserve_call_id());
    invoke_options invoke_opts;
    invoke_opts.deadline = r.deadline;
    invoke_opts.id = interrupt.id();
    invoke_opts.on_progress = [&bar](const progress_params& p) {
        bar.show(p.fraction, p.message.value_or(""));
    };
    std::error_code ec;
    invoke_reply reply = client.invoke(std::move(params), std::move(invoke_opts), ec);
    bar.clear();
    if (ec == error::cancelled) {
        fail(exit_cancelled, name + " was cancelled");
    }
    if (ec) {
        std::string message = reply.error ? reply.error->message : ec.message();
        std::string code_text = " (" + std::to_string(ec.value()) + " " +
                                std::error_code(ec.value(), category()).message() + ")";
        if (reply.error) {
            if (const auto* offending = reply.error->details.find("name")) {
                if (offending->is_string()) {
                    message += " [" + offending->as_string() + "]";
                }
            }
        }
        if (ec.category() == category() && ec.value() >= 100) {
            fail(exit_call_failed, name + " failed: " + message + code_text);
        }
        fail(exit_connection, name + ": " + message);
    }

    int status = exit_ok;
    for (const auto& [output_name, path] : outputs) {
        const data_value* data = reply.result.output(output_name);
        if (data == nullptr) {
            std::cerr << program << ": " << name << " produced no output " << output_name << "\n";
            status = exit_call_failed;
            continue;
        }
        try {
            files::write_data(*data, path);
        } catch (const files::file_error& e) {
            fail(exit_file, e.what());
        }
        if (!quiet) {
            std::cerr << "wrote " << output_name << " (" << data_summary(*data) << ") to " << path
                      << "\n";
        }
    }
    if (!quiet) {
        for (const auto& [output_name, data] : reply.result.outputs) {
            const bool saved = std::any_of(outputs.begin(), outputs.end(),
                                           [&](const auto& o) { return o.first == output_name; });
            if (!saved) {
                std::cerr << "not saved: " << output_name << " (" << data_summary(data)
                          << "); add --output " << output_name << "=FILE\n";
            }
        }
    }
    // Scalar outputs on standard output, one `name = value` line each ([CAT-7]).
    for (const auto& [output_name, scalar] : reply.result.scalars) {
        std::cout << output_name << " = " << value_text(scalar) << "\n";
    }
    if (r.timings) {
        std::cout << std::fixed << std::setprecision(4) << "timings " << name << ":";
        if (reply.server_timings) {
            const auto& t = *reply.server_timings;
            std::cout << " receiving " << t.receiving << " s, queued " << t.queued
                      << " s, computing " << t.computing << " s, sending " << t.sending << " s,";
        } else {
            std::cout << " (the server sent no timings)";
        }
        std::cout << " round trip " << reply.round_trip << " s\n" << std::flush;
    }
    if (interrupt.requested() && status == exit_ok && !quiet) {
        std::cerr << program << ": the call finished before the cancel reached it\n";
    }
    return status;
}

} // namespace

command add_run_command(CLI::App& app) {
    auto o = std::make_shared<run_options>();
    auto* run_command = app.add_subcommand("run", "Runs a processor on files.");
    run_command->add_option("PROCESSOR", o->processor, "The processor's name")->required();
    run_command->add_option("--input", o->inputs, "An input read from FILE (repeatable)")
        ->type_name("NAME=FILE")
        ->allow_extra_args(false);
    run_command
        ->add_option("--param", o->parameters,
                     "A parameter (repeatable). Vectors: comma-separated values; bools: "
                     "true/false")
        ->type_name("NAME=VALUE")
        ->allow_extra_args(false);
    run_command
        ->add_option("--output", o->outputs,
                     "Where to write an output (repeatable); a table may go to \"-\" (standard "
                     "output, CSV). Values a processor returns (numbers, strings) are printed as "
                     "\"NAME = VALUE\" lines on standard output")
        ->type_name("NAME=FILE")
        ->allow_extra_args(false);
    run_command->add_option("--deadline", o->deadline, "Ask the server to give up after this long")
        ->type_name("SECONDS");
    run_command->add_flag("--timings", o->timings,
                          "Print where the time went (server: receiving, queued, computing, "
                          "sending; client: round trip) on standard output");
    add_progress_option(*run_command, o->progress,
                        "\"progress: 45% message\" lines on standard error");
    run_command->add_flag("--quiet", o->quiet, "No progress and no summary of the outputs");
    run_command->footer("Progress goes to standard error. Ctrl-C asks the server to cancel the "
                        "call and waits for its answer; a second Ctrl-C exits at once.");
    return {run_command, [o](const server_options& where) {
                const run_request request = checked_request(*o);
                return with_connection(
                    where, [&request](connection& connected) { return run(connected, request); });
            }};
}

} // namespace cli
} // namespace slicerbridge
