"""Lab model: nearest-centroid classifier; class names come from ../labels.txt."""

import os

import numpy as np
import triton_python_backend_utils as pb_utils

CENTROIDS = np.array([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]], dtype=np.float32)


class TritonPythonModel:
    def initialize(self, args):
        path = os.path.join(args["model_repository"], "labels.txt")
        with open(path, encoding="utf-8") as f:
            self.labels = [line.strip() for line in f if line.strip()]

    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "INPUT0").as_numpy()
            dist = ((x[:, None, :] - CENTROIDS[None, :, :]) ** 2).sum(axis=2)
            idx = dist.argmin(axis=1).astype(np.int32)
            names = np.array([[self.labels[i].encode()] for i in idx], dtype=np.object_)
            responses.append(
                pb_utils.InferenceResponse(
                    [pb_utils.Tensor("LABEL", names), pb_utils.Tensor("CLASS", idx.reshape(-1, 1))]
                )
            )
        return responses
