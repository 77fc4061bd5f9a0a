// The description builder: labels from names, parameter types from defaults, the last slot's
// modifiers, and descriptions that break a rule of section 10 refused by build().

#include <slicerbridge/description_builder.hpp>

#include <slicerbridge/cli_module.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

namespace sb = slicerbridge;

TEST_CASE("labels come from names: words, a capital, a unit in parentheses") {
    CHECK(sb::label_from_name("sigma_mm") == "Sigma (mm)");
    CHECK(sb::label_from_name("inside_value") == "Inside value");
    CHECK(sb::label_from_name("maxIterations") == "Max iterations");
    CHECK(sb::label_from_name("volume") == "Volume");
    CHECK(sb::label_from_name("duration_s") == "Duration (s)");
    CHECK(sb::label_from_name("center_ras") == "Center (RAS)");
    CHECK(sb::label_from_name("mm") == "Mm"); // a unit alone is the word itself
    CHECK(sb::label_from_name("use_ITK_filter") == "Use ITK filter");
    CHECK(sb::label_from_name("gaussian_smoothing") == "Gaussian smoothing");
    CHECK(sb::label_from_name("a__b_") == "A b");
}

TEST_CASE("a processor declared in a few lines: slots, derived labels, types from defaults "
          "[CAT-3] [CAT-5]") {
    const sb::processor_description d =
        sb::description_builder("gaussian_smoothing", "1.2")
            .describe("Smooths a volume")
            .category("Filtering.Denoising")
            .idempotent()
            .input("volume", sb::image_kind::scalar, "Volume to smooth")
            .input("mask", sb::image_kind::label)
            .optional()
            .output("smoothed", sb::image_kind::scalar, "The smoothed volume")
            .output("voxel_count", sb::slot_type::integer)
            .parameter("sigma_mm", 1.0, "Standard deviation")
            .range(0.0, 50.0)
            .step(0.5)
            .parameter("iterations", 3)
            .parameter("keep_edges", true)
            .parameter("origin_ras", std::vector<double>{0.0, 0.0, 0.0})
            .length(3)
            .choice("mode", {"fast", "exact"}, "fast")
            .group("Advanced")
            .build();
    CHECK(d.name == "gaussian_smoothing");
    CHECK(d.title == "Gaussian smoothing");
    CHECK(d.version == "1.2");
    CHECK(d.idempotent);
    REQUIRE(d.inputs.size() == 2);
    CHECK(d.inputs[0].label == "Volume");
    CHECK(d.inputs[0].image_kind == sb::image_kind::scalar);
    CHECK(d.inputs[1].optional);
    REQUIRE(d.outputs.size() == 2);
    CHECK(d.outputs[1].type == sb::slot_type::integer);
    CHECK(d.outputs[1].label == "Voxel count");
    REQUIRE(d.parameters.size() == 5);
    const sb::slot& sigma = *d.find_parameter("sigma_mm");
    CHECK(sigma.label == "Sigma (mm)");
    CHECK(sigma.type == sb::slot_type::floating);
    CHECK(sigma.minimum == 0.0);
    CHECK(sigma.maximum == 50.0);
    CHECK(sigma.step == 0.5);
    CHECK(d.find_parameter("iterations")->type == sb::slot_type::integer);
    CHECK(d.find_parameter("keep_edges")->type == sb::slot_type::boolean);
    CHECK(d.find_parameter("origin_ras")->type == sb::slot_type::float_vector);
    CHECK(d.find_parameter("origin_ras")->label == "Origin (RAS)");
    CHECK(d.find_parameter("origin_ras")->length == 3u);
    CHECK(d.find_parameter("mode")->type == sb::slot_type::enumeration);
    CHECK(d.find_parameter("mode")->group == "Advanced");
    // The labels reach Slicer's form ([CAT-4]).
    CHECK(sb::cli_module_xml(d).find("<label>Sigma (mm)</label>") != std::string::npos);
}

TEST_CASE("an explicit label or title wins over the derived one") {
    const auto d = sb::description_builder("add_constant")
                       .title("Add a constant")
                       .parameter("c", 1.0)
                       .label("Constant")
                       .build();
    CHECK(d.title == "Add a constant");
    CHECK(d.parameters[0].label == "Constant");
}

TEST_CASE("build() refuses a description that breaks a rule of section 10 [CAT-3] [CAT-5]") {
    CHECK_THROWS_AS(sb::description_builder("bad name!").build(), std::invalid_argument);
    CHECK_THROWS_AS(sb::description_builder("dup")
                        .input("x", sb::slot_type::mesh)
                        .output("x", sb::slot_type::mesh)
                        .build(),
                    std::invalid_argument); // [CAT-3]
    CHECK_THROWS_AS(sb::description_builder("outside").parameter("n", 5).range(0, 1).build(),
                    std::invalid_argument); // [CAT-5]: the default breaks its constraints
    CHECK_THROWS_AS(sb::description_builder("enum").choice("m", {"a", "b"}, "c").build(),
                    std::invalid_argument);
    CHECK_THROWS_AS(sb::description_builder("early").range(0, 1), std::logic_error);
}
