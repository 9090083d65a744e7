/*{
    "DESCRIPTION": "A crossfade style: the new look opens from the centre in a soft-edged circle",
    "CREDIT": "Somnia",
    "ISFVSN": "2",
    "CATEGORIES": ["Transition"],
    "INPUTS": [
        { "NAME": "startImage", "TYPE": "image" },
        { "NAME": "endImage", "TYPE": "image" },
        { "NAME": "progress", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0 },
        { "NAME": "softness", "TYPE": "float", "DEFAULT": 0.08, "MIN": 0.0, "MAX": 0.5 }
    ]
}*/

// Use it from a cue: preset = "canopy", fade_s = 3, fade_style = "circle-open".
void main() {
    vec2 p = isf_FragNormCoord;
    // Distance from the centre, the picture's aspect kept; the circle reaches the corners
    // at progress 1.
    vec2 d = (p - 0.5) * vec2(RENDERSIZE.x / RENDERSIZE.y, 1.0);
    float corner = length(vec2(0.5 * RENDERSIZE.x / RENDERSIZE.y, 0.5));
    float radius = progress * (corner + softness);
    float inside = 1.0 - smoothstep(radius - softness, radius, length(d));
    gl_FragColor = mix(IMG_NORM_PIXEL(startImage, p), IMG_NORM_PIXEL(endImage, p), inside);
}
