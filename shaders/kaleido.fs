/*{
    "DESCRIPTION": "A filter: folds the picture into a kaleidoscope of mirrored wedges, slowly turning",
    "CREDIT": "Somnia",
    "ISFVSN": "2",
    "CATEGORIES": ["Distortion Effect"],
    "INPUTS": [
        { "NAME": "inputImage", "TYPE": "image" },
        { "NAME": "sides", "TYPE": "long", "VALUES": [3, 4, 6, 8, 12], "LABELS": ["3", "4", "6", "8", "12"], "DEFAULT": 6 },
        { "NAME": "turn_speed", "TYPE": "float", "DEFAULT": 0.05, "MIN": -1.0, "MAX": 1.0 },
        { "NAME": "zoom", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.25, "MAX": 4.0 },
        { "NAME": "kaleido_mix", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0 }
    ]
}*/

// Use it in a preset: [post] filter = "kaleido.fs".
const float TAU = 6.28318530718;

void main() {
    vec2 p = isf_FragNormCoord - 0.5;
    p.x *= RENDERSIZE.x / RENDERSIZE.y;
    float r = length(p) / zoom;
    float wedge = TAU / float(sides);
    float a = atan(p.y, p.x) + TIME * turn_speed * TAU;
    // Fold the angle into one wedge, mirrored every other one.
    a = mod(a, wedge);
    a = min(a, wedge - a);
    vec2 q = vec2(cos(a), sin(a)) * r;
    q.x /= RENDERSIZE.x / RENDERSIZE.y;
    vec2 uv = clamp(q + 0.5, 0.0, 1.0);
    gl_FragColor = mix(IMG_THIS_PIXEL(inputImage), IMG_NORM_PIXEL(inputImage, uv), kaleido_mix);
}
