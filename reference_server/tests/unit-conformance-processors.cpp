// echo, slow and fail (what the conformance suite relies on), and the catalog as a whole.

#include "support.hpp"

#include <slicerbridge/server.hpp>

#include <asio/io_context.hpp>

#include <set>

using namespace test_support;

TEST_CASE("every processor has a complete description the server accepts [CAT-3] [CAT-5] "
          "[CAT-6]") {
    asio::io_context io;
    server s(io.get_executor());
    std::set<std::string> names;
    for (auto& p : reference::all_processors()) {
        CAPTURE(p.description.name);
        CHECK(names.insert(p.description.name).second);
        CHECK_FALSE(p.description.title.empty());
        CHECK_FALSE(p.description.description.empty());
        CHECK_FALSE(p.description.category.empty());
        CHECK_FALSE(p.description.version.empty());
        for (const auto* slots :
             {&p.description.inputs, &p.description.outputs, &p.description.parameters}) {
            for (const auto& slot : *slots) {
                CAPTURE(slot.name);
                CHECK_FALSE(slot.label.empty());
                CHECK_FALSE(slot.description.empty());
            }
        }
        for (const auto& parameter : p.description.parameters) {
            CAPTURE(parameter.name);
            CHECK_FALSE(parameter.group.empty());
            CHECK((parameter.default_value.has_value() || parameter.optional));
        }
        CHECK_NOTHROW(s.add(std::move(p)));
    }
    CHECK(names.size() == 11);
}

TEST_CASE("echo returns every input unchanged under <name>_out, sharing the data [IMG-5] [PROC-1]") {
    const image img = sphere_phantom({6, 5, 4}, oblique_matrix(), {}, space::lps);
    table t;
    t.columns.push_back({"x", typed_array::adopt(std::vector<double>{1, 2})});
    transform x;
    x.matrix[3] = 4;
    const double xyz[3] = {1, 2, 3};
    invoke_params params;
    params.inputs.emplace_back("image", img);
    params.inputs.emplace_back("table", t);
    params.inputs.emplace_back("transform", x);
    params.inputs.emplace_back("points", point_list::copy_of(xyz, 1));
    const auto result = run("echo", params);
    REQUIRE(result.outputs.size() == 4);
    const auto* echoed = result.output_as<image>("image_out");
    REQUIRE(echoed != nullptr);
    CHECK(*echoed == img);
    CHECK(echoed->data.data() == img.data.data());
    CHECK(*result.output_as<table>("table_out") == t);
    CHECK(*result.output_as<transform>("transform_out") == x);
    CHECK(result.output_as<mesh>("mesh_out") == nullptr);
    CHECK(run("echo", invoke_params{}).outputs.empty());
}

TEST_CASE("slow reports monotonic progress step by step [PROG-1] [PROC-3]") {
    invoke_params params;
    params.parameters.emplace_back("seconds", 0.04);
    params.parameters.emplace_back("steps", std::int64_t{4});
    test_context ctx;
    run("slow", params, ctx);
    CHECK(ctx.fractions() == std::vector<double>{0.25, 0.5, 0.75, 1.0});
}

TEST_CASE("slow stops at the next check once cancelled [CANCEL-1] [PROC-3]") {
    invoke_params params;
    params.parameters.emplace_back("seconds", 3600.0);
    params.parameters.emplace_back("steps", std::int64_t{100000});
    test_context ctx;
    ctx.on_progress = [&ctx](std::size_t reported) {
        if (reported == 3) {
            ctx.cancel();
        }
    };
    CHECK_THROWS_AS(run("slow", params, ctx), call_cancelled);
    CHECK(ctx.fractions().size() == 3);

    test_context cancelled_before;
    cancelled_before.cancel();
    CHECK_THROWS_AS(run("slow", params, cancelled_before), call_cancelled);
    CHECK(cancelled_before.fractions().empty());
}

TEST_CASE("fail raises its code and message, or an ordinary exception [INV-5] [ERR-1] [PROC-4]") {
    invoke_params params;
    params.parameters.emplace_back("code", std::int64_t{4242});
    params.parameters.emplace_back("message", std::string("on purpose"));
    try {
        run("fail", params);
        FAIL("no error");
    } catch (const processor_error& e) {
        CHECK(e.code() == 4242);
        CHECK(std::string(e.what()) == "on purpose");
    }
    params.parameters.emplace_back("mode", std::string("exception"));
    CHECK_THROWS_AS(run("fail", params), std::runtime_error);

    invoke_params out_of_range;
    out_of_range.parameters.emplace_back("code", std::int64_t{999});
    try {
        run("fail", out_of_range);
        FAIL("no error");
    } catch (const processor_error& e) {
        CHECK(e.code() == static_cast<int>(error::invalid_argument));
    }
}

TEST_CASE("processors stop when the call is cancelled before they finish [CANCEL-1]") {
    const matrix4 m = oblique_matrix();
    invoke_params params;
    params.inputs.emplace_back("volume", sphere_phantom({40, 36, 32}, m, {{apply(m, 20, 18, 16), 8.0, 100}}));
    for (const char* name : {"gaussian_smoothing", "threshold", "iso_surface", "resample"}) {
        CAPTURE(name);
        test_context ctx;
        ctx.cancel();
        CHECK_THROWS_AS(run(name, params, ctx), call_cancelled);
    }
}
