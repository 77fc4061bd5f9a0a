// The private state of a vtkSlicerBridgeCall, shared with vtkSlicerBridgeClientLogic. Not
// wrapped: it names SDK types.
#ifndef vtkSlicerBridgeCallInternals_h
#define vtkSlicerBridgeCallInternals_h

#include "vtkSlicerBridgeCall.h"

#include <slicerbridge/message/catalog.hpp>
#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/message/progress.hpp>

#include <slicerbridge/client.hpp>

#include <vtkImageData.h>
#include <vtkMatrix4x4.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkSmartPointer.h>
#include <vtkStringArray.h>
#include <vtkTable.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

/// An input as given: VTK objects referenced until StartInvoke converts them.
struct vtkSlicerBridgeInput
{
  std::string Name;
  std::string Type; // "image", "mesh", "transform", "points" or "table"
  vtkSmartPointer<vtkImageData> Image;
  vtkSmartPointer<vtkMatrix4x4> Matrix; // IJK-to-RAS of an image, or a transform's to-parent
  slicerbridge::image_kind Kind = slicerbridge::image_kind::scalar;
  std::vector<slicerbridge::segment> Segments;
  vtkSmartPointer<vtkPolyData> Mesh;
  vtkSmartPointer<vtkPoints> Points;
  vtkSmartPointer<vtkStringArray> Labels;
  vtkSmartPointer<vtkTable> Table;
};

struct vtkSlicerBridgeCall::vtkInternals
{
  std::string Processor;
  std::vector<vtkSlicerBridgeInput> Inputs;
  std::vector<std::pair<std::string, slicerbridge::parameter_value>> Parameters;
  std::string ParametersJSON = "{}";
  slicerbridge::space Space = slicerbridge::space::ras;

  int Status = vtkSlicerBridgeCall::Idle;
  long long CallId = 0;
  double Progress = 0.0;
  std::string ProgressMessage;

  /// The answer: the outputs on success, the error otherwise.
  slicerbridge::invoke_result Result;
  int ErrorCode = 0;
  std::string ErrorName;
  std::string ErrorMessage;
  std::string ErrorDetailsJSON = "{}";
  std::string TimingsJSON = "{}";
  double RoundTrip = 0.0;

  /// Forgets the previous run's answer, for a call started again.
  void ResetAnswer()
  {
    this->Status = vtkSlicerBridgeCall::Idle;
    this->CallId = 0;
    this->Progress = 0.0;
    this->ProgressMessage.clear();
    this->Result = slicerbridge::invoke_result();
    this->ErrorCode = 0;
    this->ErrorName.clear();
    this->ErrorMessage.clear();
    this->ErrorDetailsJSON = "{}";
    this->TimingsJSON = "{}";
    this->RoundTrip = 0.0;
  }

  vtkSlicerBridgeInput* FindInput(const std::string& name)
  {
    for (auto& input : this->Inputs)
    {
      if (input.Name == name)
      {
        return &input;
      }
    }
    return nullptr;
  }

  /// The input of that name, replacing an earlier one.
  vtkSlicerBridgeInput& SetInput(const std::string& name, const std::string& type)
  {
    vtkSlicerBridgeInput* existing = this->FindInput(name);
    if (existing == nullptr)
    {
      this->Inputs.emplace_back();
      existing = &this->Inputs.back();
    }
    *existing = vtkSlicerBridgeInput();
    existing->Name = name;
    existing->Type = type;
    return *existing;
  }
};

#endif
