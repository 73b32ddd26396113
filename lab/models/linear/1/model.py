"""Lab model: y = weight * x + bias (weight and bias from config.pbtxt parameters)."""

import json

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        params = json.loads(args["model_config"]).get("parameters", {})
        self.weight = np.float32(params.get("weight", {}).get("string_value", "2.0"))
        self.bias = np.float32(params.get("bias", {}).get("string_value", "1.0"))

    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "INPUT0").as_numpy()
            y = (x * self.weight + self.bias).astype(np.float32)
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("OUTPUT0", y)]))
        return responses
